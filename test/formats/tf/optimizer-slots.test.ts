import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { read } from "../../../src/api/open.js";
import { encodeProto } from "../../../src/formats/tensorflow/protos.js";
import { crc32c, maskCrc32c } from "../../../src/util/crc32c.js";
import { utf8 } from "../../../src/util/bytes.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { bundle, floats, shape, type Raw } from "./bundle-builder.js";
import { tf } from "./fixtures.js";

// Keras >= 2.11 optimizers keep every slot in one flat list (`optimizer/_variables/N`) whose object
// graph names each `<Optimizer>/<slot>/<variable>`. Whatever the slot is called (tf-keras'
// optimizers: m v vhat u velocity momentum average_gradient accumulator accumulated_grad
// accumulated_delta_var linear r c, EMA's average), it is one tensor named
// `optimizer/<variable>/<slot>` with the optimizer role; only non-slot scalars go to meta.

const READER = readFileSync(join(import.meta.dirname, "bundle_reader.py"), "utf8").replace(/\nmain\(sys\.argv\[1\]\)\s*$/, "\n");

/** The object graph of the bundle, decoded here from the proto's field numbers (TrackableObjectGraph), and every numeric entry's values. */
const GRAPH_AND_VALUES = String.raw`
import sys, json, io, contextlib
prefix = sys.argv[1]
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    main(prefix)
listing = json.loads(buf.getvalue())["tensors"]
idx = open(prefix + ".index", "rb").read()
footer = idx[-48:]
_, i = varint(footer, 0); _, i = varint(footer, i)
io_, i = varint(footer, i); isz, i = varint(footer, i)
entries = []
for _, handle in block(idx, io_, isz):
    o, j = varint(handle, 0); s, _ = varint(handle, j)
    entries += block(idx, o, s)
d = dict(fields(dict(entries)[b"_CHECKPOINTABLE_OBJECT_GRAPH"]))
raw = open(prefix + ".data-00000-of-00001", "rb").read()[d.get(4, 0):d.get(4, 0) + d[5]]
n, at = varint(raw, 0)
graph = raw[at + 4:at + 4 + n]
full = {}
for f, node in fields(graph):
    for g, attr in fields(node):
        if g == 2:
            a = dict(fields(attr))
            full[a[3].decode()] = a.get(2, b"").decode()
print(json.dumps({k: {"full_name": full.get(k), "values": v.get("values"), "crc_ok": v["crc_ok"]} for k, v in listing.items() if k in full}))
`;

// Real Keras 2.12 SavedModels compiled with the new optimizers: SGD(momentum) keeps `m`, RMSprop
// `velocity`; the bAbI model's Embeddings and LSTM are keyed only `variables/N`.
const REAL = [
  {
    path: "savedmodel-dense-dropout-sgd-momentum-k212",
    optimizer: "SGD",
    slots: ["dense", "dense_1", "dense_2"].flatMap((l) => [`optimizer/${l}/kernel/m`, `optimizer/${l}/bias/m`]),
    iteration: 2200,
  },
  {
    path: "savedmodel-babi-memnn-rmsprop-k212",
    optimizer: "RMSprop",
    slots: [
      "embedding/embeddings",
      "embedding_2/embeddings",
      "embedding_1/embeddings",
      "lstm/lstm_cell/kernel",
      "lstm/lstm_cell/recurrent_kernel",
      "lstm/lstm_cell/bias",
      "dense/kernel",
      "dense/bias",
    ].map((v) => `optimizer/${v}/velocity`),
    iteration: 46950,
  },
];

describe.skipIf(!hasPythonModules("numpy"))("real Keras 2.12 SavedModels compiled with non-Adam optimizers (optimizer/_variables/N)", () => {
  for (const c of REAL) {
    it(`${c.path}: every tensor named from the object graph (slots optimizer/<var>/<slot>, no variables/N), bytes as TensorFlow stored them`, async () => {
      const path = tf(c.path);
      const truth = JSON.parse(runPython(`${READER}\n${GRAPH_AND_VALUES}`, [join(path, "variables/variables")])) as Record<
        string,
        { full_name: string; values?: number[]; crc_ok: boolean | null }
      >;
      const checkpoint = await read(path);
      try {
        const keys = (checkpoint.meta.tensorflow as { checkpoint_keys: Record<string, string> }).checkpoint_keys;
        const expected = (key: string): string => {
          const full = truth[key]!.full_name;
          const slot = new RegExp(`^${c.optimizer}/([^/]+)/(.+)$`).exec(full);
          return key.startsWith("optimizer/") && slot ? `optimizer/${slot[2]}/${slot[1]}` : full;
        };
        const seen: string[] = [];
        for (const t of checkpoint.tensors) {
          const key = keys[t.name] ?? t.name;
          seen.push(key);
          expect(t.name, key).toBe(expected(key));
          expect(t.name).not.toMatch(/_variables|(^|\/)variables\/\d+/);
          expect(truth[key]!.crc_ok).toBe(true);
          const bytes = await t.data.read();
          expect(Buffer.from(bytes).equals(Buffer.from(new Float32Array(truth[key]!.values!).buffer)), t.name).toBe(true);
        }
        const slots = checkpoint.tensors.filter((t) => t.name.startsWith("optimizer/"));
        expect(slots.map((t) => t.name)).toEqual(c.slots);
        expect(slots.every((t) => t.role === "optimizer")).toBe(true);
        // Every other numeric entry is a non-weight kept in meta: the iteration count, learning rate and metrics.
        const rest = Object.keys(truth).filter((k) => !seen.includes(k) && truth[k]!.values);
        expect(rest).toEqual(
          expect.arrayContaining(["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE", "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"]),
        );
        for (const k of rest) expect(k).toMatch(/^(keras_api\/metrics\/|optimizer\/_(iterations|learning_rate)\/)/);
        expect(checkpoint.meta.tensorflow).toMatchObject({ optimizer_class: c.optimizer, optimizer: { iteration: c.iteration } });
      } finally {
        await checkpoint.close();
      }
    });
  }
});

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

interface Variable {
  key: string;
  fullName: string;
  dims: number[];
}

/**
 * A bundle laid out as Keras >= 2.11 saves a compiled Dense(3) on 2 inputs: the layer's kernel and
 * bias, the optimizer's iteration count, then its variables as `optimizer/_variables/N`, each
 * named in the object graph as tf-keras names them.
 */
function kerasBundle(optimizer: string, slots: Array<{ slot: string; kernel?: number[]; bias?: number[] }>, extra: Variable[] = []): string {
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
    const bytes = v.fullName === "iteration" ? new Uint8Array(new BigInt64Array([7n]).buffer) : floats(...Array.from({ length: count }, () => (value += 0.5)));
    return { key: utf8(`${v.key}/.ATTRIBUTES/VARIABLE_VALUE`), entry: { dtype: v.fullName === "iteration" ? 9 : 1, shape: shape(...v.dims) }, bytes };
  });
  entries.push({ key: utf8("_CHECKPOINTABLE_OBJECT_GRAPH"), entry: { dtype: 7, shape: shape() }, bytes: graph.bytes, crc: graph.crc });
  return bundle(entries);
}

// The slot names tf-keras' optimizers give add_variable_from_reference / add_variable (tf_keras/optimizers/*.py).
const OPTIMIZERS: Array<{ optimizer: string; slots: Array<{ slot: string; kernel?: number[]; bias?: number[] }> }> = [
  { optimizer: "Adamax", slots: [{ slot: "m" }, { slot: "u" }] },
  { optimizer: "RMSprop", slots: [{ slot: "velocity" }, { slot: "momentum" }, { slot: "average_gradient" }] },
  { optimizer: "Adagrad", slots: [{ slot: "accumulator" }] },
  { optimizer: "Adadelta", slots: [{ slot: "accumulated_grad" }, { slot: "accumulated_delta_var" }] },
  { optimizer: "Ftrl", slots: [{ slot: "accumulator" }, { slot: "linear" }] },
  { optimizer: "AdamW", slots: [{ slot: "m" }, { slot: "v" }, { slot: "vhat" }, { slot: "average" }] },
  { optimizer: "Nadam", slots: [{ slot: "m" }, { slot: "v" }] },
  { optimizer: "Lion", slots: [{ slot: "m" }] },
  // Adafactor factors a matrix's second moment into a row and a column vector.
  { optimizer: "Adafactor", slots: [{ slot: "r", kernel: [2], bias: [3] }, { slot: "c", kernel: [3], bias: [3] }, { slot: "v" }] },
];

describe("Keras >= 2.11 optimizer slots, every optimizer: one tensor per slot, named optimizer/<variable>/<slot>", () => {
  for (const { optimizer, slots } of OPTIMIZERS) {
    it(`${optimizer}: ${slots.map((s) => s.slot).join(", ")}`, async () => {
      // Nadam's running product is an optimizer scalar, no slot: it stays in meta.
      const extra = optimizer === "Nadam" ? [{ key: "optimizer/_u_product", fullName: "Nadam/u_product", dims: [] }] : [];
      const checkpoint = await read(kerasBundle(optimizer, slots, extra));
      try {
        const names = checkpoint.tensors.map((t) => t.name);
        const wanted = slots.flatMap((s) => [`optimizer/dense/kernel/${s.slot}`, `optimizer/dense/bias/${s.slot}`]);
        // Bundles list tensors in key order; what matters is the set of names.
        expect([...names].sort()).toEqual(["dense/bias", "dense/kernel", ...wanted].sort());
        for (const t of checkpoint.tensors) expect(t.role, t.name).toBe(t.name.startsWith("optimizer/") ? "optimizer" : undefined);
        const meta = checkpoint.meta.tensorflow as { optimizer: Record<string, unknown>; checkpoint_keys: Record<string, string> };
        expect(Object.keys(meta.optimizer)).toEqual(optimizer === "Nadam" ? ["iteration", "Nadam/u_product"] : ["iteration"]);
        expect(meta.checkpoint_keys["optimizer/dense/bias/m"] ?? meta.checkpoint_keys[wanted[1]!]).toMatch(/^optimizer\/_variables\/\d+\//);
      } finally {
        await checkpoint.close();
      }
    });
  }
});
