import type { Tensor } from "../../tensor/tensor.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { simpleAttributes } from "../../keras/model-config.js";
import { NotCheckable, wholeParam, type Param } from "../params.js";
import { Disagreement, type LayerSide, type Reference } from "../reference.js";
import { referenceFor } from "../references.js";
import { sideOf } from "../pairing.js";
import { seededRandom } from "../random.js";
import { kerasGraph, type KerasNode } from "./keras-graph.js";
import { KERAS_LAYER_KINDS } from "../../keras/layer-kinds.js";

// A Keras model computed by composing the reference layers along its config: each weighted layer
// runs through its reference forward pass (the same code verify checks single layers with) on
// the previous layers' outputs, in Keras' channels-last layout. Covered: Dense, Conv1D/2D/3D
// (stride 1, no dilation, valid or same padding), depthwise/separable conv likewise,
// BatchNormalization and LayerNormalization on the last axis, activations, Dropout-like layers
// (identity at inference), Flatten, Reshape, Add/Subtract/Multiply/Average/Concatenate.

export interface Value {
  /** Batch first, Keras layout. */
  shape: number[];
  data: Float64Array;
}

const product = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

const ACTIVATIONS: Record<string, (x: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(0, x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  selu: (x) => 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * Math.expm1(x)),
  softplus: (x) => Math.log1p(Math.exp(x)),
  swish: (x) => x / (1 + Math.exp(-x)),
  silu: (x) => x / (1 + Math.exp(-x)),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
};

// Abramowitz–Stegun 7.1.26 is too coarse for 1e-5 checks; this series/continued form is exact to ~1e-15.
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for |x| ≥ 2
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

function activate(v: Value, activation: JsonValue | undefined, layer: string): Value {
  const name = typeof activation === "string" ? activation : (activation as { class_name?: string } | null)?.class_name ?? "linear";
  if (name === "softmax") return softmax(v);
  const f = ACTIVATIONS[name];
  if (!f) throw new NotCheckable(`activation '${name}' of layer ${layer} is not covered`);
  return { shape: v.shape, data: v.data.map(f) };
}

function softmax(v: Value): Value {
  const D = v.shape[v.shape.length - 1]!;
  const y = new Float64Array(v.data.length);
  for (let r = 0; r < v.data.length / D; r++) {
    let max = -Infinity;
    for (let d = 0; d < D; d++) max = Math.max(max, v.data[r * D + d]!);
    let sum = 0;
    for (let d = 0; d < D; d++) sum += y[r * D + d] = Math.exp(v.data[r * D + d]! - max);
    for (let d = 0; d < D; d++) y[r * D + d]! /= sum;
  }
  return { shape: v.shape, data: y };
}

const IDENTITY = new Set(["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"]);
const MERGES = new Set(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]);

async function loaded(side: LayerSide<Tensor>): Promise<LayerSide<Param>> {
  const roles = new Map<string, Param>();
  for (const [r, t] of side.roles) roles.set(r, await wholeParam(t));
  return { ...side, roles };
}

/** Runs a reference layer on rows of the last axis (Dense, norms). */
async function rowwise(node: KerasNode, ref: Reference<unknown>, side: LayerSide<Tensor>, x: Value, set: (plan: Record<string, unknown>, rows: number) => number): Promise<Value> {
  const plan = ref.plan(side, side, seededRandom(0)) as Record<string, unknown>;
  const rows = x.data.length / x.shape[x.shape.length - 1]!;
  const out = set(plan, rows);
  const y = ref.forward(await loaded(side), plan, x.data, "source");
  return { shape: [...x.shape.slice(0, -1), out], data: y };
}

function shaped(node: KerasNode, x: Value, features: number, what: string): void {
  if (x.shape[x.shape.length - 1] !== features) throw new Disagreement(`layer ${node.name} (${what}) takes ${features} features, its input has shape [${x.shape.slice(1).join(",")}]`);
}

function intList(v: JsonValue | undefined, rank: number, fallback: number): number[] {
  if (typeof v === "number") return new Array(rank).fill(v);
  if (Array.isArray(v) && v.every((d) => typeof d === "number")) return v as number[];
  return new Array(rank).fill(fallback);
}

/** Channels-last [N, ...spatial, C] → one sample's canonical [C, positions], zero-padded. */
function sampleChannelsFirst(x: Value, n: number, pad: Array<[number, number]>): { data: Float64Array; spatial: number[] } {
  const spatial = x.shape.slice(1, -1);
  const C = x.shape[x.shape.length - 1]!;
  const padded = spatial.map((s, d) => s + pad[d]![0] + pad[d]![1]);
  const P = product(spatial);
  const Q = product(padded);
  const out = new Float64Array(C * Q);
  for (let p = 0; p < P; p++) {
    let rem = p;
    let q = 0;
    let stride = 1;
    for (let d = spatial.length - 1; d >= 0; d--) {
      q += ((rem % spatial[d]!) + pad[d]![0]) * stride;
      rem = Math.floor(rem / spatial[d]!);
      stride *= padded[d]!;
    }
    for (let c = 0; c < C; c++) out[c * Q + q] = x.data[(n * P + p) * C + c]!;
  }
  return { data: out, spatial: padded };
}

async function conv(node: KerasNode, kind: string, side: LayerSide<Tensor>, x: Value): Promise<Value> {
  const ref = referenceFor(kind)!;
  const cfg = node.config;
  const rank = x.shape.length - 2;
  if (cfg.data_format === "channels_first") throw new NotCheckable(`layer ${node.name} is channels_first (not covered)`);
  if (intList(cfg.strides, rank, 1).some((s) => s !== 1) || intList(cfg.dilation_rate, rank, 1).some((s) => s !== 1)) throw new NotCheckable(`layer ${node.name} has strides or dilation (not covered)`);
  const plan = ref.plan(side, side, seededRandom(0)) as { kernel: number[]; inChannels: number; outChannels: number; inSpatial: number[]; outSpatial: number[]; outputs: number[] };
  shaped(node, x, plan.inChannels, `${plan.inChannels} channels`);
  const padding = cfg.padding ?? "valid";
  if (padding !== "valid" && padding !== "same") throw new NotCheckable(`layer ${node.name} has padding '${String(padding)}' (not covered)`);
  // TensorFlow's 'same' at stride 1 pads k−1 in all, the smaller half before.
  const pad = plan.kernel.map((k): [number, number] => (padding === "same" ? [Math.floor((k - 1) / 2), k - 1 - Math.floor((k - 1) / 2)] : [0, 0]));
  const params = await loaded(side);
  const N = x.shape[0]!;
  plan.outputs = Array.from({ length: plan.outChannels }, (_, i) => i);
  let outSpatial: number[] = [];
  const pieces: Float64Array[] = [];
  for (let n = 0; n < N; n++) {
    const s = sampleChannelsFirst(x, n, pad);
    plan.inSpatial = s.spatial;
    plan.outSpatial = outSpatial = s.spatial.map((d, i) => d - plan.kernel[i]! + 1);
    if (outSpatial.some((d) => d < 1)) throw new Disagreement(`layer ${node.name}: kernel ${plan.kernel.join("×")} does not fit input [${x.shape.slice(1).join(",")}]`);
    pieces.push(ref.forward(params, plan, s.data, "source"));
  }
  const O = plan.outChannels;
  const Q = product(outSpatial);
  const y = new Float64Array(N * Q * O);
  pieces.forEach((p, n) => {
    for (let o = 0; o < O; o++) for (let q = 0; q < Q; q++) y[(n * Q + q) * O + o] = p[o * Q + q]!;
  });
  return { shape: [N, ...outSpatial, O], data: y };
}

function merge(node: KerasNode, xs: Value[]): Value {
  if (node.className === "Concatenate") {
    const axis = typeof node.config.axis === "number" ? node.config.axis : -1;
    if (axis !== -1 && axis !== xs[0]!.shape.length - 1) throw new NotCheckable(`layer ${node.name} concatenates on axis ${axis} (only the last axis is covered)`);
    const rows = xs[0]!.data.length / xs[0]!.shape[xs[0]!.shape.length - 1]!;
    const widths = xs.map((x) => x.shape[x.shape.length - 1]!);
    const D = widths.reduce((a, b) => a + b, 0);
    const y = new Float64Array(rows * D);
    for (let r = 0; r < rows; r++) {
      let at = 0;
      xs.forEach((x, i) => {
        y.set(x.data.subarray(r * widths[i]!, (r + 1) * widths[i]!), r * D + at);
        at += widths[i]!;
      });
    }
    return { shape: [...xs[0]!.shape.slice(0, -1), D], data: y };
  }
  for (const x of xs) if (x.shape.join() !== xs[0]!.shape.join()) throw new NotCheckable(`layer ${node.name} merges shapes ${xs.map((v) => `[${v.shape.join(",")}]`).join(" and ")} (broadcasting is not covered)`);
  const op: Record<string, (a: number, b: number) => number> = { Add: (a, b) => a + b, Subtract: (a, b) => a - b, Multiply: (a, b) => a * b, Average: (a, b) => a + b, Maximum: Math.max, Minimum: Math.min };
  const f = op[node.className]!;
  const y = Float64Array.from(xs[0]!.data);
  for (const x of xs.slice(1)) for (let i = 0; i < y.length; i++) y[i] = f(y[i]!, x.data[i]!);
  if (node.className === "Average") for (let i = 0; i < y.length; i++) y[i]! /= xs.length;
  return { shape: xs[0]!.shape, data: y };
}

async function layer(node: KerasNode, xs: Value[], tensors: readonly Tensor[]): Promise<Value> {
  const cls = node.className;
  const x = xs[0]!;
  if (MERGES.has(cls) || cls === "Concatenate") return merge(node, xs);
  if (xs.length !== 1) throw new NotCheckable(`layer ${node.name} (${cls}) takes ${xs.length} inputs`);
  if (cls === "Activation") return activate(x, node.config.activation, node.name);
  if (cls === "ReLU" && node.config.max_value == null && !node.config.negative_slope && !node.config.threshold) return activate(x, "relu", node.name);
  if (cls === "Softmax" && (node.config.axis ?? -1) === -1) return softmax(x);
  if (cls === "LeakyReLU") {
    const alpha = typeof node.config.alpha === "number" ? node.config.alpha : typeof node.config.negative_slope === "number" ? node.config.negative_slope : 0.3;
    return { shape: x.shape, data: x.data.map((v) => (v > 0 ? v : alpha * v)) };
  }
  if (IDENTITY.has(cls)) return x;
  if (cls === "Flatten") return { shape: [x.shape[0]!, product(x.shape.slice(1))], data: x.data };
  if (cls === "Reshape") {
    const target = (node.config.target_shape as number[] | undefined) ?? [];
    const known = product(target.filter((d) => d !== -1));
    const shape = target.map((d) => (d === -1 ? product(x.shape.slice(1)) / known : d));
    if (product(shape) !== product(x.shape.slice(1))) throw new Disagreement(`layer ${node.name} reshapes [${x.shape.slice(1).join(",")}] to [${target.join(",")}]`);
    return { shape: [x.shape[0]!, ...shape], data: x.data };
  }
  const kind = KERAS_LAYER_KINDS[cls];
  if (!kind) throw new NotCheckable(`layer ${node.name} is a ${cls} (not covered by the composed check)`);
  if (!tensors.length) throw new NotCheckable(`layer ${node.name} (${cls}) has no weights in the source file`);
  const side = sideOf(tensors, "keras", simpleAttributes(node.config));
  const ref = referenceFor(kind);
  if (kind === "linear") {
    const y = await rowwise(node, ref!, side, x, (plan, rows) => {
      shaped(node, x, plan.in as number, `${plan.in} features`);
      Object.assign(plan, { batch: rows, outputs: Array.from({ length: plan.out as number }, (_, i) => i), support: Array.from({ length: plan.in as number }, (_, i) => i), flattened: undefined });
      return plan.out as number;
    });
    return activate(y, node.config.activation, node.name);
  }
  if (kind === "batchnorm" || kind === "layernorm") {
    const axis = node.config.axis;
    const last = axis === -1 || axis === x.shape.length - 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === x.shape.length - 1));
    if (!last) throw new NotCheckable(`layer ${node.name} normalizes axis ${JSON.stringify(axis)} (only the last axis is covered)`);
    if (kind === "layernorm" && (node.config.rms_scaling === true)) throw new NotCheckable(`layer ${node.name} uses rms_scaling (not covered)`);
    return rowwise(node, ref!, side, x, (plan, rows) => {
      shaped(node, x, plan.features as number, `${plan.features} features`);
      plan.batch = rows;
      return plan.features as number;
    });
  }
  if (/^(conv[123]d|depthwise_conv[12]d|separable_conv[12]d)$/.test(kind) && x.shape.length >= 3) {
    return activate(await conv(node, kind, side, x), node.config.activation, node.name);
  }
  throw new NotCheckable(`layer ${node.name} is a ${cls} (not covered by the composed check)`);
}

/**
 * The model's outputs for the given inputs (Keras layout, batch first), computed along its
 * config with the source's weights (`weightsOf(layer)`).
 */
export async function composeKeras(modelConfig: JsonValue | undefined, inputs: readonly Value[], weightsOf: (layer: string) => readonly Tensor[]): Promise<Value[]> {
  const graph = kerasGraph(modelConfig);
  const values = new Map<string, Value>();
  graph.inputs.forEach((input, i) => values.set(input.name, inputs[i]!));
  for (const node of graph.nodes) {
    const xs = node.inputs.map((name) => {
      const v = values.get(name);
      if (!v) throw new NotCheckable(`layer ${node.name} takes ${name}, which the config does not compute before it`);
      return v;
    });
    values.set(node.name, await layer(node, xs, weightsOf(node.name)));
  }
  return graph.outputs.map((name) => values.get(name)!);
}

export { kerasGraph };
