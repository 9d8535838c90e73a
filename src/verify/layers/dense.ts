import { namingOf } from "../../vocabulary/conventions.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Param } from "../params.js";
import { isBig } from "../params.js";
import { sampleBlock } from "../random.js";
import { Disagreement, type LayerSide, type Reference, channelsLast, numberAttr, product, required, role } from "../reference.js";

// Linear / Dense / Gemm / MatMul(+Add), and the first Dense after a Flatten.
//   PyTorch nn.Linear:       y = x·Wᵀ + b, weight [out, in]
//   Keras Dense, Paddle:     y = x·K + b,  kernel/weight [in, out]
//   ONNX Gemm:               y = α·x·op(B) + β·C, op(B) = Bᵀ when transB=1 (B [out, in]) else B [in, out]
//   ONNX MatMul then Add:    y = x·B + bias, B [in, out]
// After a Flatten, the flattened index of feature map element (c, s) is c·S + s channels-first
// and s·C + c channels-last: the canonical input is the feature map, each side flattens its way.

export interface DensePlan {
  in: number;
  out: number;
  /** Output units computed (all, or a block of a big layer). */
  outputs: number[];
  /** Input features that are non-zero (all, or a block for a big layer). */
  support: number[];
  batch: number;
  /** Feature map [C, S] the input was flattened from, when the file says. */
  flattened?: { channels: number; spatial: number };
}

const SAMPLE = 16;

interface WeightAccess<T> {
  weight: T;
  in: number;
  out: number;
  /** Flat index of the element connecting input i to output j. */
  index(j: number, i: number): number;
  scale: number;
}

function weightOf<T extends Tensor | Param>(side: LayerSide<T>): WeightAccess<T> {
  const f = side.framework;
  if (f === "pytorch") {
    const w = required(side, "weight", "weight");
    const [out, inp] = dims2(w, f);
    return { weight: w, in: inp, out, index: (j, i) => j * inp + i, scale: 1 };
  }
  if (f === "keras" || f === "paddle") {
    const w = required(side, "kernel", f === "keras" ? "kernel" : "weight");
    const [inp, out] = dims2(w, f);
    return { weight: w, in: inp, out, index: (j, i) => i * out + j, scale: 1 };
  }
  const gemm = role(side, "Gemm:B");
  if (gemm) {
    const transB = numberAttr(side.attributes, "transB") ?? 0;
    const [a, b] = dims2(gemm, f);
    const alpha = numberAttr(side.attributes, "alpha") ?? 1;
    if (numberAttr(side.attributes, "transA")) throw new Disagreement("ONNX Gemm with transA=1 is not a layer weight");
    return transB
      ? { weight: gemm, in: b, out: a, index: (j, i) => j * b + i, scale: alpha }
      : { weight: gemm, in: a, out: b, index: (j, i) => i * b + j, scale: alpha };
  }
  const mm = required(side, "MatMul weight", "MatMul:B");
  const [inp, out] = dims2(mm, f);
  return { weight: mm, in: inp, out, index: (j, i) => i * out + j, scale: 1 };
}

function dims2(t: Tensor | Param, f: string): [number, number] {
  if (t.shape.length !== 2) throw new Disagreement(`${f} weight ${t.name} has shape [${t.shape.join(",")}], not 2-D`);
  return [t.shape[0]!, t.shape[1]!];
}

function biasOf<T>(side: LayerSide<T>): { bias?: T; scale: number } {
  // An ONNX graph's initializers are named by the op input they fill (Gemm's C, or an Add after a MatMul).
  if (namingOf(side.framework) === "graph-input") {
    const c = role(side, "Gemm:C");
    if (c) return { bias: c, scale: numberAttr(side.attributes, "beta") ?? 1 };
    return { bias: role(side, "Add:bias"), scale: 1 };
  }
  return { bias: role(side, "bias"), scale: 1 };
}

/**
 * The feature map the input was flattened from, on either side: a reader's `flattenedFrom:
 * {channels[, spatial]}` hint or a `--layer '…=linear(flatten=C,H,W)'` override.
 */
function flattenedFrom(features: number, ...sides: LayerSide<unknown>[]): { channels: number; spatial: number } | undefined {
  for (const s of sides) {
    const f = s.attributes.flattenedFrom as { channels?: unknown; spatial?: unknown } | undefined;
    if (f && typeof f.channels === "number" && f.channels > 0) {
      const spatial = Array.isArray(f.spatial) && f.spatial.every((d) => typeof d === "number") ? product(f.spatial as number[]) : features / f.channels;
      return { channels: f.channels, spatial };
    }
    const stated = s.attributes.flatten;
    if (Array.isArray(stated) && stated.length >= 2 && stated.every((d) => typeof d === "number")) {
      const [channels, ...spatial] = stated as number[];
      return { channels: channels!, spatial: product(spatial) };
    }
  }
  return undefined;
}

/**
 * The same sums as forward's loop, in the same order (over the support, per output), on a weight
 * read whole into a typed array: the strides of its index replace the per-element calls.
 */
function denseFast(values: Float32Array | Float64Array, w: WeightAccess<Param>, bias: Param | undefined, plan: DensePlan, input: Float64Array): Float64Array {
  const origin = w.index(0, 0);
  const strideOut = w.out > 1 ? w.index(1, 0) - origin : 0;
  const strideIn = w.in > 1 ? w.index(0, 1) - origin : 0;
  const outs = plan.outputs.length;
  const y = new Float64Array(plan.batch * outs);
  const acc = new Float64Array(outs);
  const columns = Int32Array.from(plan.outputs, (j) => origin + j * strideOut);
  // Every output in order along a contiguous row (a Keras [in, out] kernel): no index table, and
  // the whole batch in one pass over the weight. The same sums in the same order.
  if (strideOut === 1 && plan.outputs.every((j, k) => j === k)) return denseRows(values, origin, strideIn, bias, plan, input, w.scale);
  for (let n = 0; n < plan.batch; n++) {
    acc.fill(0);
    for (const i of plan.support) {
      const x = input[n * plan.in + i]!;
      const row = i * strideIn;
      for (let k = 0; k < outs; k++) acc[k] += x * values[row + columns[k]!]!;
    }
    for (let k = 0; k < outs; k++) {
      const j = plan.outputs[k]!;
      const b = bias ? bias.at(bias.shape.length === 0 || product(bias.shape) === 1 ? 0 : j) : 0;
      y[n * outs + k] = w.scale * acc[k]! + b;
    }
  }
  return y;
}

function denseRows(
  values: Float32Array | Float64Array,
  origin: number,
  strideIn: number,
  bias: Param | undefined,
  plan: DensePlan,
  input: Float64Array,
  scale: number,
): Float64Array {
  const outs = plan.outputs.length;
  const acc = new Float64Array(plan.batch * outs);
  for (const i of plan.support) {
    const row = values.subarray(origin + i * strideIn, origin + i * strideIn + outs);
    let n = 0;
    // Two batch rows per pass over the weight row: half the loop overhead, the same sums.
    for (; n + 1 < plan.batch; n += 2) {
      const [x0, x1] = [input[n * plan.in + i]!, input[(n + 1) * plan.in + i]!];
      const [a0, a1] = [acc.subarray(n * outs, (n + 1) * outs), acc.subarray((n + 1) * outs, (n + 2) * outs)];
      for (let k = 0; k < outs; k++) {
        const w = row[k]!;
        a0[k] += x0 * w;
        a1[k] += x1 * w;
      }
    }
    for (; n < plan.batch; n++) {
      const x = input[n * plan.in + i]!;
      const at = n * outs;
      for (let k = 0; k < outs; k++) acc[at + k] += x * row[k]!;
    }
  }
  const y = new Float64Array(plan.batch * outs);
  for (let n = 0; n < plan.batch; n++)
    for (let k = 0; k < outs; k++) {
      const b = bias ? bias.at(bias.shape.length === 0 || product(bias.shape) === 1 ? 0 : k) : 0;
      y[n * outs + k] = scale * acc[n * outs + k]! + b;
    }
  return y;
}

export const dense: Reference<DensePlan> = {
  kinds: ["linear"],
  plan(source, target, random) {
    const s = weightOf(source);
    const t = weightOf(target);
    if (s.in !== t.in || s.out !== t.out) {
      throw new Disagreement(`source weight is ${s.in}→${s.out} features, the converted one ${t.in}→${t.out}`);
    }
    const flattened = flattenedFrom(s.in, source, target);
    if (flattened && (!Number.isInteger(flattened.spatial) || flattened.channels * flattened.spatial !== s.in)) {
      throw new Disagreement(`flattened from ${flattened.channels}×${flattened.spatial} but the layer takes ${s.in} features`);
    }
    const big = isBig(s.weight) || isBig(t.weight);
    return {
      in: s.in,
      out: s.out,
      outputs: sampleBlock(s.out, big ? SAMPLE : s.out, random),
      support: sampleBlock(s.in, big ? SAMPLE : s.in, random),
      batch: 2,
      flattened,
    };
  },
  input(plan, random) {
    // Canonical input: [batch, in] with only `support` non-zero; for a flattened layer the
    // feature index is (c, s) channels-first, c·S + s.
    const x = new Float64Array(plan.batch * plan.in);
    for (let n = 0; n < plan.batch; n++) for (const i of plan.support) x[n * plan.in + i] = random() * 2 - 1;
    return x;
  },
  forward(side, plan, input) {
    const w = weightOf(side);
    const { bias, scale: biasScale } = biasOf(side);
    const f = plan.flattened;
    // Where canonical feature i lands in this side's flattened input.
    const flatIndex = f && channelsLast(side) ? (i: number) => (i % f.spatial) * f.channels + Math.floor(i / f.spatial) : (i: number) => i;
    const values = w.weight.values;
    if (values && !f && biasScale === 1) return denseFast(values, w, bias, plan, input);
    const y = new Float64Array(plan.batch * plan.outputs.length);
    plan.outputs.forEach((j, k) => {
      const b = bias ? biasScale * bias.at(bias.shape.length === 0 || product(bias.shape) === 1 ? 0 : j) : 0;
      for (let n = 0; n < plan.batch; n++) {
        let acc = 0;
        for (const i of plan.support) acc += input[n * plan.in + i]! * w.weight.at(w.index(j, flatIndex(i)));
        y[n * plan.outputs.length + k] = w.scale * acc + b;
      }
    });
    return y;
  },
  notes(plan) {
    const out: string[] = [];
    if (plan.outputs.length < plan.out) out.push(`sampled ${plan.outputs.length} of ${plan.out} outputs, ${plan.support.length} of ${plan.in} inputs`);
    if (plan.flattened) out.push(`input flattened from ${plan.flattened.channels} channels × ${plan.flattened.spatial} positions`);
    return out;
  },
};
