import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, expect } from "vitest";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { writeBytes } from "../../src/api/write.js";
import { convert, type ConvertOptions } from "../../src/api/convert.js";
import { openSource } from "../../src/api/open.js";
import { readOnnxGraph } from "../../src/formats/onnx/graph.js";
import { bytesData, makeTensor, type Tensor } from "../../src/tensor/tensor.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

// The Done-when harness of the Keras → ONNX graph: TensorFlow.js (pure-JS CPU backend) builds the
// model from its Keras config and takes seeded weights; the same config and weights go into a
// model.save-style .h5 through weightbridge's writer; `convert` makes the runnable ONNX graph;
// onnxruntime-node runs it on the seeded inputs tfjs ran, and the outputs must agree.

export const DIR = mkdtempSync(join(tmpdir(), "wb-keras-onnx-"));
/** Every ONNX file written, for one onnx.checker pass at the end. */
export const WRITTEN: string[] = [];

/** In the calling test file: after its tests, onnx.checker (full_check) accepts every ONNX file written. */
export function checkWrittenAtEnd(): void {
  afterAll(() => {
    if (!WRITTEN.length || !hasPythonModules("onnx")) return;
    const out = runPython(
      "import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint(len(sys.argv) - 1)",
      WRITTEN,
    );
    expect(Number(out.trim())).toBe(WRITTEN.length);
  });
}

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function seeded(seed: number): (lo?: number, hi?: number) => number {
  let a = seed >>> 0;
  return (lo = -1, hi = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  };
}

export interface CaseResult {
  /** Max |onnx - tfjs| / max(|tfjs| elementwise, rms of tfjs outputs). */
  maxRel: number;
  maxAbs: number;
  onnx: string;
  outputs: number;
  /** How far the outputs are from zero (a control: a case must compute something). */
  scale: number;
  /** Max - min of the expected values (a control: outputs are not saturated constants). */
  spread: number;
  /** convert's whole-model check: its verdict, and the reason when it could not run. */
  check?: { verdict: string; reason?: string };
  /** The check's notes (what it fed, what it compared). */
  checkNotes?: string[];
}

function float32Tensor(name: string, shape: number[], values: ArrayLike<number>): Tensor {
  return makeTensor(name, "float32", shape, bytesData(new Uint8Array(Float32Array.from(values).buffer)));
}

export interface CaseOptions {
  /** Input sizes for dims the config leaves open (besides batch). */
  fill?: number;
  batch?: number;
  /** Integer inputs (token ids) below this bound instead of floats. */
  intBelow?: number;
  seed?: number;
  convert?: ConvertOptions;
  /** Keras version written beside the config (activation definitions follow it). */
  kerasVersion?: string;
  /** Rewrites the config tfjs loads (its dialect), keeping the file's. */
  forTfjs?: (config: JsonValue) => JsonValue;
  /** The values of input `index` (shape with the batch), instead of seeded ones. */
  feed?: (index: number, shape: number[]) => number[];
  /** Where Keras and tfjs differ: Keras' outputs from tfjs' (and the inputs fed). */
  asKeras?: (outputs: tf.Tensor[], inputs: tf.Tensor[]) => tf.Tensor[];
}

/** Runs the model config in tfjs and its converted ONNX graph in onnxruntime on the same inputs. */
export async function runCase(name: string, config: JsonValue, options: CaseOptions = {}): Promise<CaseResult> {
  await tf.setBackend("cpu");
  const random = seeded(options.seed ?? 1);
  const model = await tf.models.modelFromJSON({ modelTopology: (options.forTfjs ? options.forTfjs(config) : config) as never });
  // Seeded weights, under Keras 2 names (layer/…/param:0) in the file; variances positive.
  const tensors: Tensor[] = [];
  const values = model.weights.map((w) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const positive = /variance|moving_var/.test(w.originalName);
    const v = Float32Array.from({ length: n }, () => (positive ? random(0.5, 1.5) : random(-0.5, 0.5)));
    tensors.push(float32Tensor(`${w.originalName}:0`, w.shape as number[], v));
    return tf.tensor(v, w.shape);
  });
  model.setWeights(values);
  const h5 = join(DIR, `${name}.h5`);
  writeFileSync(
    h5,
    await writeBytes({ tensors, meta: { model_config: config, keras_version: options.kerasVersion ?? "2.15.0", backend: "tensorflow" } }, "keras-h5"),
  );
  const onnxPath = join(DIR, `${name}.onnx`);
  const report = await convert(h5, onnxPath, { force: true, ...options.convert });
  WRITTEN.push(onnxPath);
  const check = report.verification?.wholeModel;
  return { ...(await compare(name, model, onnxPath, options)), check: check && { verdict: check.verdict, reason: check.reason }, checkNotes: check?.notes };
}

/** Seeded inputs through the tfjs model and the ONNX graph; their outputs compared. */
async function compare(name: string, model: tf.LayersModel, onnxPath: string, options: CaseOptions): Promise<Omit<CaseResult, "check">> {
  const random = seeded((options.seed ?? 1) + 1000);
  const session = await ort.InferenceSession.create(onnxPath);
  const batch = options.batch ?? 2;
  const feedsTf: tf.Tensor[] = [];
  const feeds: Record<string, ort.Tensor> = {};
  model.inputs.forEach((input, i) => {
    const shape = input.shape.map((d, k) => (k === 0 ? batch : (d ?? options.fill ?? 3)));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = options.feed
      ? Float32Array.from(options.feed(i, shape))
      : Float32Array.from({ length: n }, () => (options.intBelow ? Math.floor(random(0, options.intBelow)) : random()));
    feedsTf.push(tf.tensor(data, shape));
    const meta = session.inputMetadata[i]!;
    const channelsFirst = options.convert?.inputsChannelsFirst && shape.length >= 3;
    const fed = channelsFirst
      ? tf.transpose(tf.tensor(data, shape), [0, shape.length - 1, ...shape.slice(1, -1).map((_, k) => k + 1)])
      : tf.tensor(data, shape);
    const type = meta.isTensor ? meta.type : "float32";
    const fedData = fed.dataSync();
    feeds[session.inputNames[i]!] =
      type === "int32"
        ? new ort.Tensor("int32", Int32Array.from(fedData), fed.shape)
        : type === "int64"
          ? new ort.Tensor(
              "int64",
              BigInt64Array.from(fedData, (v) => BigInt(v)),
              fed.shape,
            )
          : new ort.Tensor("float32", Float32Array.from(fedData), fed.shape);
  });
  const predicted = model.predict(feedsTf.length === 1 ? feedsTf[0]! : feedsTf);
  const fromTfjs = (Array.isArray(predicted) ? predicted : [predicted]) as tf.Tensor[];
  const expected = options.asKeras ? options.asKeras(fromTfjs, feedsTf) : fromTfjs;
  const results = await session.run(feeds);
  let maxRel = 0;
  let maxAbs = 0;
  let scale = 0;
  let spread = 0;
  expected.forEach((e, i) => {
    const got = results[session.outputNames[i]!]!;
    if (got.dims.join() !== e.shape.join()) throw new Error(`${name}: output ${i} is [${got.dims.join(",")}] in ONNX, [${e.shape.join(",")}] in tfjs`);
    const want = e.dataSync();
    const have = got.data as Float32Array;
    const rms = Math.sqrt(want.reduce((s, v) => s + v * v, 0) / Math.max(1, want.length));
    scale = Math.max(scale, rms);
    spread = Math.max(spread, Math.max(...want) - Math.min(...want));
    for (let k = 0; k < want.length; k++) {
      const d = Math.abs(want[k]! - have[k]!);
      maxAbs = Math.max(maxAbs, d);
      maxRel = Math.max(maxRel, d / Math.max(Math.abs(want[k]!), rms, 1e-30));
    }
  });
  return { maxRel, maxAbs, onnx: onnxPath, outputs: expected.length, scale, spread };
}

/** A Sequential config (Keras 2 dialect) of layers `[class, config]` on an input of `shape` (no batch). */
export function sequential(name: string, shape: Array<number | null>, layers: Array<[string, Record<string, unknown>]>, dtype = "float32"): JsonValue {
  return {
    class_name: "Sequential",
    config: {
      name,
      layers: [
        { class_name: "InputLayer", config: { name: `${name}_in`, batch_input_shape: [null, ...shape], dtype } },
        ...layers.map(([cls, config], i) => ({ class_name: cls, config: { name: `${name}_${i}_${cls.toLowerCase()}`, ...config } })),
      ],
    },
    keras_version: "2.15.0",
    backend: "tensorflow",
  } as JsonValue;
}

export interface FunctionalLayer {
  cls: string;
  name: string;
  config?: Record<string, unknown>;
  /** Calls: each a list of inputs `layer` or `layer@node` (node index of a shared layer's call). */
  calls: string[][];
}

/** A Functional config (Keras 2 dialect: inbound_nodes lists). */
export function functional(
  name: string,
  inputs: Array<{ name: string; shape: Array<number | null>; dtype?: string }>,
  layers: FunctionalLayer[],
  outputs: string[],
): JsonValue {
  /** `layer`, `layer@node` or `layer@node#tensor` (a tensor index for layers with several outputs). */
  const ref = (r: string) => {
    const [call, tensor] = r.split("#");
    const [layer, node] = call!.split("@");
    return [layer!, Number(node ?? 0), Number(tensor ?? 0), {}];
  };
  return {
    class_name: "Functional",
    config: {
      name,
      layers: [
        ...inputs.map((i) => ({
          class_name: "InputLayer",
          name: i.name,
          config: { name: i.name, batch_input_shape: [null, ...i.shape], dtype: i.dtype ?? "float32" },
          inbound_nodes: [],
        })),
        ...layers.map((l) => ({ class_name: l.cls, name: l.name, config: { name: l.name, ...l.config }, inbound_nodes: l.calls.map((c) => c.map(ref)) })),
      ],
      input_layers: inputs.map((i) => [i.name, 0, 0]),
      output_layers: outputs.map((o) => ref(o).slice(0, 3)),
    },
    keras_version: "2.15.0",
    backend: "tensorflow",
  } as JsonValue;
}

/** Runs a real Keras file in tfjs (its own config and weights) and its converted ONNX graph in onnxruntime. */
export async function runRealCase(name: string, path: string, options: CaseOptions & { kerasConfig?: string } = {}): Promise<CaseResult> {
  const { read } = await import("../../src/api/open.js");
  const { readKerasConfig } = await import("../../src/api/keras-config.js");
  const { withPlainTuples } = await import("../../src/keras/config-graph.js");
  const given = options.kerasConfig ? await readKerasConfig(options.kerasConfig) : undefined;
  const source = await read(path, { modelConfig: given });
  try {
    const config = withPlainTuples(given ?? source.meta.model_config ?? source.meta.config)!;
    await tf.setBackend("cpu");
    const model = await tf.models.modelFromJSON({ modelTopology: (options.forTfjs ? options.forTfjs(config) : config) as never });
    const values: tf.Tensor[] = [];
    for (const w of model.weights) {
      const parts = w.originalName.split("/");
      const found = source.tensors.find(
        (t) =>
          t.role !== "optimizer" &&
          !t.name.startsWith("optimizer") &&
          (t.layer?.path ?? t.name.split("/")[0]) === parts[0] &&
          t.name.replace(/:\d+$/, "").split("/").at(-1) === parts.at(-1),
      );
      if (!found) throw new Error(`${name}: no tensor in the file for tfjs weight ${w.originalName}`);
      const bytes = await found.data.read();
      values.push(tf.tensor(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), found.shape));
    }
    model.setWeights(values);
    const onnxPath = join(DIR, `${name}.onnx`);
    await convert(path, onnxPath, { force: true, kerasConfig: options.kerasConfig, ...options.convert });
    WRITTEN.push(onnxPath);
    return await compare(name, model, onnxPath, options);
  } finally {
    await source.close();
  }
}

/** The same Functional config in Keras 3's dialect: `{args, kwargs}` inbound nodes of `__keras_tensor__`s, `batch_shape`. */
export function asKeras3(config: JsonValue): JsonValue {
  const c = JSON.parse(JSON.stringify(config)) as { config: { layers: Array<Record<string, unknown>> } };
  const tensor = (ref: unknown[]) => ({ class_name: "__keras_tensor__", config: { shape: null, dtype: "float32", keras_history: ref.slice(0, 3) } });
  for (const layer of c.config.layers) {
    const cfg = layer.config as Record<string, unknown>;
    if (layer.class_name === "InputLayer") {
      cfg.batch_shape = cfg.batch_input_shape;
      delete cfg.batch_input_shape;
    }
    layer.module = "keras.layers";
    layer.inbound_nodes = (layer.inbound_nodes as unknown[][][]).map((node) => ({
      args: node.length === 1 ? [tensor(node[0]!)] : [node.map(tensor)],
      kwargs: {},
    }));
  }
  return c as unknown as JsonValue;
}

/** The written graph's nodes from which no graph output can be reached (`name (op)`), and every node's op. */
export async function deadNodesIn(onnxPath: string): Promise<{ dead: string[]; ops: string[] }> {
  const source = await openSource(onnxPath);
  try {
    const graph = await readOnnxGraph(source, { lazyWeights: true });
    const live = new Set(graph.outputs.map((o) => o.name));
    const dead: string[] = [];
    for (const node of [...graph.nodes].reverse()) {
      if (node.outputs.some((o) => live.has(o))) for (const i of node.inputs) live.add(i);
      else dead.push(`${node.name} (${node.op})`);
    }
    return { dead, ops: graph.nodes.map((n) => n.op) };
  } finally {
    await source.close();
  }
}
