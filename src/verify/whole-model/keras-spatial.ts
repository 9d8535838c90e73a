import type { Tensor } from "../../tensor/tensor.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { NotCheckable, type Param } from "../params.js";
import { Disagreement, type LayerSide, type Reference } from "../reference.js";
import { referenceFor } from "../references.js";
import { seededRandom } from "../random.js";
import type { KerasNode } from "./keras-graph.js";
import { flat, loadedSide, product, shaped, unflat, type Value } from "./value.js";

// Keras' spatial layers in channels-last layout: convolutions through the reference conv (stride
// 1 on a padded sample, dilation by phases, then every stride-th position kept), pooling and global pooling here.
// Padding follows TensorFlow: 'same' gives ceil(n / s) outputs and pads the smaller half before.

/** A per-axis option (`strides`, `dilation_rate`): one number for every axis, or one per axis. */
export function intList(v: JsonValue | undefined, rank: number, fallback: number[]): number[] {
  if (typeof v === "number") return new Array(rank).fill(v);
  if (Array.isArray(v) && v.length === rank && v.every((d) => typeof d === "number")) return v as number[];
  return fallback;
}

interface Window {
  outSpatial: number[];
  pad: Array<[number, number]>;
}

function window(node: KerasNode, spatial: readonly number[], kernel: readonly number[], strides: readonly number[]): Window {
  const padding = node.config.padding ?? "valid";
  if (padding !== "valid" && padding !== "same") throw new NotCheckable(`layer ${node.name} has padding '${String(padding)}' (not covered)`);
  if (padding === "valid") {
    const outSpatial = spatial.map((n, d) => Math.floor((n - kernel[d]!) / strides[d]!) + 1);
    if (outSpatial.some((d) => d < 1)) throw new Disagreement(`layer ${node.name}: window ${kernel.join("×")} does not fit input [${spatial.join(",")}]`);
    return { outSpatial, pad: spatial.map(() => [0, 0]) };
  }
  const outSpatial = spatial.map((n, d) => Math.ceil(n / strides[d]!));
  const pad = spatial.map((n, d): [number, number] => {
    const total = Math.max((outSpatial[d]! - 1) * strides[d]! + kernel[d]! - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  });
  return { outSpatial, pad };
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

/**
 * The stride-1 convolution of one channels-first sample over every position, dilated: the input
 * split into dilation-phase sub-grids (positions r, r + d, r + 2d … per axis), each convolved
 * undilated by the reference, the outputs interleaved back.
 */
function dilatedFull(
  ref: Reference<unknown>,
  params: LayerSide<Param>,
  plan: ConvPlan,
  sample: { data: Float64Array; spatial: number[] },
  dilation: number[],
): { data: Float64Array; spatial: number[] } {
  const C = plan.inChannels;
  const O = plan.outChannels;
  const padded = sample.spatial;
  const spatial = padded.map((n, d) => n - (plan.kernel[d]! - 1) * dilation[d]!);
  const R = product(spatial);
  const full = new Float64Array(O * R);
  const P = product(padded);
  for (let phase = 0; phase < product(dilation); phase++) {
    const r = unflat(phase, dilation);
    const sub = padded.map((n, d) => Math.ceil((n - r[d]!) / dilation[d]!));
    const subOut = sub.map((m, d) => m - plan.kernel[d]! + 1);
    if (subOut.some((m) => m < 1)) continue;
    const S = product(sub);
    const input = new Float64Array(C * S);
    for (let q = 0; q < S; q++) {
      const at = flat(
        unflat(q, sub).map((j, d) => r[d]! + j * dilation[d]!),
        padded,
      );
      for (let c = 0; c < C; c++) input[c * S + q] = sample.data[c * P + at]!;
    }
    plan.inSpatial = sub;
    plan.outSpatial = subOut;
    const y = ref.forward(params, plan, input, "source");
    const Q = product(subOut);
    for (let q = 0; q < Q; q++) {
      const at = flat(
        unflat(q, subOut).map((j, d) => r[d]! + j * dilation[d]!),
        spatial,
      );
      for (let o = 0; o < O; o++) full[o * R + at] = y[o * Q + q]!;
    }
  }
  return { data: full, spatial };
}

interface ConvPlan {
  kernel: number[];
  inChannels: number;
  outChannels: number;
  inSpatial: number[];
  outSpatial: number[];
  outputs: number[];
}

export async function conv(node: KerasNode, kind: string, side: LayerSide<Tensor>, x: Value): Promise<Value> {
  const ref = referenceFor(kind)!;
  const cfg = node.config;
  const rank = x.shape.length - 2;
  const ones = new Array<number>(rank).fill(1);
  if (cfg.data_format === "channels_first") throw new NotCheckable(`layer ${node.name} is channels_first (not covered)`);
  const dilation = intList(cfg.dilation_rate, rank, ones);
  const strides = intList(cfg.strides, rank, ones);
  const plan = ref.plan(side, side, seededRandom(0)) as ConvPlan;
  shaped(node, x, plan.inChannels, `${plan.inChannels} channels`);
  const reach = plan.kernel.map((k, d) => (k - 1) * dilation[d]! + 1);
  const { outSpatial, pad } = window(node, x.shape.slice(1, -1), reach, strides);
  const params = await loadedSide(side);
  const N = x.shape[0]!;
  const O = plan.outChannels;
  const Q = product(outSpatial);
  plan.outputs = Array.from({ length: O }, (_, i) => i);
  const y = new Float64Array(N * Q * O);
  for (let n = 0; n < N; n++) {
    const full = dilatedFull(ref, params, plan, sampleChannelsFirst(x, n, pad), dilation);
    const R = product(full.spatial);
    for (let q = 0; q < Q; q++) {
      const r = flat(
        unflat(q, outSpatial).map((o, d) => o * strides[d]!),
        full.spatial,
      );
      for (let o = 0; o < O; o++) y[(n * Q + q) * O + o] = full.data[o * R + r]!;
    }
  }
  return { shape: [N, ...outSpatial, O], data: y };
}

/** MaxPoolingND / AveragePoolingND; padded positions take no part (TensorFlow's 'same'). */
export function pool(node: KerasNode, x: Value, max: boolean): Value {
  const rank = x.shape.length - 2;
  if (node.config.data_format === "channels_first") throw new NotCheckable(`layer ${node.name} is channels_first (not covered)`);
  const size = intList(node.config.pool_size, rank, new Array(rank).fill(2));
  const strides = intList(node.config.strides, rank, size);
  const spatial = x.shape.slice(1, -1);
  const { outSpatial, pad } = window(node, spatial, size, strides);
  const N = x.shape[0]!;
  const C = x.shape[x.shape.length - 1]!;
  const P = product(spatial);
  const Q = product(outSpatial);
  const K = product(size);
  const y = new Float64Array(N * Q * C);
  for (let q = 0; q < Q; q++) {
    const origin = unflat(q, outSpatial).map((o, d) => o * strides[d]! - pad[d]![0]);
    const inside: number[] = [];
    for (let k = 0; k < K; k++) {
      const at = unflat(k, size).map((o, d) => origin[d]! + o);
      if (at.every((a, d) => a >= 0 && a < spatial[d]!)) inside.push(flat(at, spatial));
    }
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        let acc = max ? -Infinity : 0;
        for (const p of inside) {
          const v = x.data[(n * P + p) * C + c]!;
          acc = max ? Math.max(acc, v) : acc + v;
        }
        y[(n * Q + q) * C + c] = max ? acc : acc / inside.length;
      }
  }
  return { shape: [N, ...outSpatial, C], data: y };
}

/** GlobalAveragePoolingND / GlobalMaxPoolingND over every spatial position. */
export function globalPool(node: KerasNode, x: Value, max: boolean): Value {
  if (node.config.data_format === "channels_first") throw new NotCheckable(`layer ${node.name} is channels_first (not covered)`);
  const N = x.shape[0]!;
  const C = x.shape[x.shape.length - 1]!;
  const P = product(x.shape.slice(1, -1));
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      let acc = max ? -Infinity : 0;
      for (let p = 0; p < P; p++) {
        const v = x.data[(n * P + p) * C + c]!;
        acc = max ? Math.max(acc, v) : acc + v;
      }
      y[n * C + c] = max ? acc : acc / P;
    }
  const keep = node.config.keepdims === true;
  return { shape: keep ? [N, ...x.shape.slice(1, -1).map(() => 1), C] : [N, C], data: y };
}
