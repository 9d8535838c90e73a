import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeProto } from "../../../src/formats/tensorflow/protos.js";
import { crc32c, maskCrc32c } from "../../../src/util/crc32c.js";
import { utf8 } from "../../../src/util/bytes.js";
import { bundle, floats, shape, type Raw } from "./bundle-builder.js";

/** A DT_STRING scalar's bundle bytes: varint length, the masked checksum of the length, the bytes. */
function stringScalar(value: Uint8Array): { bytes: Uint8Array; crc: number } {
  const length: number[] = [];
  for (let n = value.length; ; n >>>= 7) {
    length.push(n >= 0x80 ? (n & 0x7f) | 0x80 : n);
    if (n < 0x80) break;
  }
  const lengthCrc = crc32c(new Uint8Array(new Uint32Array([value.length]).buffer));
  const crcBytes = new Uint8Array(4);
  new DataView(crcBytes.buffer).setUint32(0, maskCrc32c(lengthCrc), true);
  return { bytes: Buffer.concat([Uint8Array.from(length), crcBytes, value]), crc: crc32c(value, crc32c(crcBytes, lengthCrc)) };
}

export interface Variable {
  key: string;
  fullName: string;
  dims: number[];
}

/**
 * A bundle laid out as Keras >= 2.11 saves a compiled Dense(3) on 2 inputs: the layer's kernel and
 * bias, the optimizer's iteration count, then its variables as `optimizer/_variables/N`, each
 * named in the object graph as tf-keras names them.
 */
export function kerasBundle(
  optimizer: string,
  slots: Array<{ slot: string; kernel?: number[]; bias?: number[] }>,
  extra: Variable[] = [],
  valuesOf: (v: Variable, count: number) => number[] | undefined = () => undefined,
): string {
  const variables: Variable[] = [
    { key: "layer_with_weights-0/kernel", fullName: "dense/kernel", dims: [2, 3] },
    { key: "layer_with_weights-0/bias", fullName: "dense/bias", dims: [3] },
    { key: "optimizer/_iterations", fullName: "iteration", dims: [] },
  ];
  let n = 1;
  for (const s of slots) {
    for (const [v, dims] of [
      ["kernel", s.kernel ?? [2, 3]],
      ["bias", s.bias ?? [3]],
    ] as const) {
      variables.push({ key: `optimizer/_variables/${n++}`, fullName: `${optimizer}/${s.slot}/dense/${v}`, dims: [...dims] });
    }
  }
  variables.push(...extra);
  const nodes = [
    {
      children: [
        { node_id: 1, local_name: "layer_with_weights-0" },
        { node_id: 2, local_name: "optimizer" },
      ],
      attributes: [],
      slot_variables: [],
    },
    { children: [], attributes: [], slot_variables: [] },
    { children: [], attributes: [], slot_variables: [] },
    ...variables.map((v) => ({
      children: [],
      attributes: [{ name: "VARIABLE_VALUE", full_name: v.fullName, checkpoint_key: `${v.key}/.ATTRIBUTES/VARIABLE_VALUE` }],
      slot_variables: [],
    })),
  ];
  nodes[1]!.children.push({ node_id: 3, local_name: "kernel" }, { node_id: 4, local_name: "bias" });
  const graph = stringScalar(encodeProto("TrackableObjectGraph", { nodes }));
  let value = 0;
  const entries: Raw[] = variables.map((v) => {
    const count = v.dims.reduce((a, b) => a * b, 1);
    const values = valuesOf(v, count) ?? Array.from({ length: count }, () => (value += 0.5));
    const bytes = v.fullName === "iteration" ? new Uint8Array(new BigInt64Array([7n]).buffer) : floats(...values);
    return { key: utf8(`${v.key}/.ATTRIBUTES/VARIABLE_VALUE`), entry: { dtype: v.fullName === "iteration" ? 9 : 1, shape: shape(...v.dims) }, bytes };
  });
  entries.push({ key: utf8("_CHECKPOINTABLE_OBJECT_GRAPH"), entry: { dtype: 7, shape: shape() }, bytes: graph.bytes, crc: graph.crc });
  return bundle(entries);
}

/**
 * A SavedModel folder around a kerasBundle: its variables, a saved_model.pb with one (empty)
 * MetaGraphDef, and keras_metadata.pb saying the root was compiled with `optimizer` (a
 * training_config as Keras ≥ 2.11 writes it: class `Custom>Name`) and layer_with_weights-0 is a Dense(3).
 */
export function kerasSavedModel(index: string, optimizer: { class_name: string; config: Record<string, unknown> }): string {
  const dir = mkdtempSync(join(tmpdir(), "wb-tf-synth-sm-"));
  mkdirSync(join(dir, "variables"));
  copyFileSync(index, join(dir, "variables/variables.index"));
  copyFileSync(index.replace(/\.index$/, ".data-00000-of-00001"), join(dir, "variables/variables.data-00000-of-00001"));
  writeFileSync(join(dir, "saved_model.pb"), encodeProto("SavedModel", { saved_model_schema_version: 1, meta_graphs: [{}] }));
  const dense = { name: "dense", units: 3, activation: "linear", use_bias: true };
  const root = {
    name: "sequential",
    class_name: "Sequential",
    config: { name: "sequential", layers: [{ class_name: "Dense", config: dense }] },
    training_config: { loss: "mse", optimizer_config: optimizer },
  };
  const nodes = [
    { node_id: 0, node_path: "root", identifier: "_tf_keras_sequential", metadata: JSON.stringify(root) },
    {
      node_id: 1,
      node_path: "root.layer_with_weights-0",
      identifier: "_tf_keras_layer",
      metadata: JSON.stringify({ name: "dense", class_name: "Dense", config: dense }),
    },
  ];
  writeFileSync(join(dir, "keras_metadata.pb"), encodeProto("SavedMetadata", { nodes }));
  return dir;
}
