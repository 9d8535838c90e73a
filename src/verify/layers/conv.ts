import type { Tensor } from "../../tensor/tensor.js";
import { CONVENTIONS } from "../../vocabulary/conventions.js";
import { FRAMEWORKS } from "../../tensor/layer-kinds.js";
import type { Param } from "../params.js";
import { isBig } from "../params.js";
import { sampleBlock } from "../random.js";
import { Disagreement, type LayerSide, type Reference, numberAttr, product, required, role } from "../reference.js";

// Convolutions, stride 1, no padding, no dilation (the weights decide nothing else):
//   PyTorch / Paddle / ONNX Conv:   weight [O, I/g, k...], channels-first
//   Keras Conv1D/2D/3D:             kernel [k..., I/g, O], channels-last
//   PyTorch / Paddle / ONNX ConvTranspose: weight [I, O/g, k...] ; Keras ConvNDTranspose: kernel [k..., O, I]
//   depthwise, multiplier m: PyTorch weight [C·m, 1, k...] (groups = C) ; Keras depthwise_kernel [k..., C, m]
//   output channel c·m + j reads input channel c in both.
//   separable: Keras depthwise_kernel + pointwise_kernel [1, 1, C·m, O] ; PyTorch module.depthwise + module.pointwise
// Each framework reads its weight through its own index formula; input and output are canonical
// [C, positions] (batch 1), which is all a weight layout can change.

type Variant = "conv" | "transpose" | "depthwise" | "separable";

export interface ConvPlan {
  variant: Variant;
  kernel: number[];
  inChannels: number;
  outChannels: number;
  groups: number;
  /** Depthwise multiplier (depthwise and separable). */
  multiplier: number;
  inSpatial: number[];
  outSpatial: number[];
  /** Output channels computed. */
  outputs: number[];
}

const SAMPLE = 16;
const CHANNELS_FIRST = new Set(FRAMEWORKS.filter((f) => CONVENTIONS[f].channelsFirst));

function variantOf(kind: string): Variant {
  if (kind.startsWith("conv_transpose")) return "transpose";
  if (kind.startsWith("depthwise")) return "depthwise";
  if (kind.startsWith("separable")) return "separable";
  return "conv";
}

function onnxOp(side: LayerSide<unknown>): string {
  return role(side, "ConvTranspose:W") ? "ConvTranspose" : "Conv";
}

/** The main weight of a side and its bias. */
function weights<T extends Tensor | Param>(side: LayerSide<T>, variant: Variant): { w: T; bias?: T; pointwise?: T; depthwiseBias?: T } {
  const f = side.framework;
  if (variant === "separable") {
    if (f === "keras")
      return {
        w: required(side, "depthwise kernel", "depthwise_kernel"),
        pointwise: required(side, "pointwise kernel", "pointwise_kernel"),
        bias: role(side, "bias"),
      };
    return {
      w: required(side, "depthwise weight", "depthwise.weight"),
      depthwiseBias: role(side, "depthwise.bias"),
      pointwise: required(side, "pointwise weight", "pointwise.weight"),
      bias: role(side, "pointwise.bias"),
    };
  }
  if (f === "keras") return { w: required(side, "kernel", variant === "depthwise" ? "depthwise_kernel" : "kernel", "kernel"), bias: role(side, "bias") };
  if (f === "onnx") {
    const op = onnxOp(side);
    return { w: required(side, `${op} weight`, `${op}:W`), bias: role(side, `${op}:B`) };
  }
  return { w: required(side, "weight", "weight"), bias: role(side, "bias") };
}

interface Geometry {
  kernel: number[];
  inChannels: number;
  outChannels: number;
  groups: number;
  multiplier: number;
}

/** What a side's shapes say; `inChannels` (from the source) resolves groups a file does not state. */
function geometry(side: LayerSide<Tensor>, variant: Variant, knownIn?: number): Geometry {
  const g = shapeGeometry(side, variant, knownIn);
  const { bias } = weights(side, variant);
  if (bias && product(bias.shape) !== g.outChannels)
    throw new Disagreement(`bias ${bias.name} has ${product(bias.shape)} values for ${g.outChannels} output channels`);
  return g;
}

function shapeGeometry(side: LayerSide<Tensor>, variant: Variant, knownIn?: number): Geometry {
  const { w, pointwise } = weights(side, variant);
  const s = w.shape;
  const f = side.framework;
  const cf = CHANNELS_FIRST.has(f);
  if (s.length < 3) throw new Disagreement(`${f} conv weight ${w.name} is [${s.join(",")}]`);
  const kernel = cf ? s.slice(2) : s.slice(0, -2);
  const stated = numberAttr(side.attributes, "groups", "group");
  if (variant === "depthwise" || variant === "separable") {
    let channels: number;
    let multiplier: number;
    if (cf) {
      channels = knownIn ?? stated ?? numberAttr(side.attributes, "in_channels") ?? s[0]!;
      if (s[1] !== 1 || s[0]! % channels !== 0) throw new Disagreement(`depthwise weight [${s.join(",")}] does not fit ${channels} channels`);
      multiplier = s[0]! / channels;
    } else {
      channels = s[s.length - 2]!;
      multiplier = s[s.length - 1]!;
    }
    let outChannels = channels * multiplier;
    if (pointwise) {
      const p = pointwise.shape;
      const [o, i] = cf ? [p[0]!, p[1]!] : [p[p.length - 1]!, p[p.length - 2]!];
      if (i !== outChannels || product(cf ? p.slice(2) : p.slice(0, -2)) !== 1)
        throw new Disagreement(`pointwise weight [${p.join(",")}] does not follow a depthwise of ${outChannels} channels`);
      outChannels = o;
    }
    return { kernel, inChannels: channels, outChannels, groups: channels, multiplier };
  }
  if (variant === "transpose") {
    const [inC, outPer] = cf ? [s[0]!, s[1]!] : [s[s.length - 1]!, s[s.length - 2]!];
    const groups = cf ? (stated ?? 1) : 1;
    return { kernel, inChannels: inC, outChannels: outPer * groups, groups, multiplier: 1 };
  }
  const [outC, inPer] = cf ? [s[0]!, s[1]!] : [s[s.length - 1]!, s[s.length - 2]!];
  const groups = knownIn !== undefined ? knownIn / inPer : (stated ?? 1);
  if (!Number.isInteger(groups) || groups < 1 || outC % groups !== 0)
    throw new Disagreement(`conv weight [${s.join(",")}] does not fit ${knownIn} input channels`);
  return { kernel, inChannels: inPer * groups, outChannels: outC, groups, multiplier: 1 };
}

/** Flat index of weight element (out channel o, in channel i within its group, kernel offset k). */
function weightIndex(side: LayerSide<unknown>, variant: Variant, g: Geometry): (o: number, i: number, k: number) => number {
  const K = product(g.kernel);
  const cf = CHANNELS_FIRST.has(side.framework);
  if (variant === "depthwise" || variant === "separable") {
    // o = c·m + j; i is always 0 (one input channel per group)
    return cf ? (o, _i, k) => o * K + k : (o, _i, k) => (k * g.inChannels + Math.floor(o / g.multiplier)) * g.multiplier + (o % g.multiplier);
  }
  if (variant === "transpose") {
    const outPer = g.outChannels / g.groups;
    // o is the output channel within its group, i the absolute input channel.
    return cf ? (o, i, k) => (i * outPer + o) * K + k : (o, i, k) => (k * g.outChannels + o) * g.inChannels + i;
  }
  const inPer = g.inChannels / g.groups;
  return cf ? (o, i, k) => (o * inPer + i) * K + k : (o, i, k) => (k * inPer + i) * g.outChannels + o;
}

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) out[d] = out[d + 1]! * shape[d + 1]!;
  return out;
}

/** For every (small position p, kernel offset k): the flat position p + k in the big grid. */
function offsets(small: readonly number[], kernel: readonly number[], big: readonly number[]): Int32Array {
  const P = product(small);
  const K = product(kernel);
  const ss = strides(small);
  const ks = strides(kernel);
  const bs = strides(big);
  const out = new Int32Array(P * K);
  for (let p = 0; p < P; p++) {
    for (let k = 0; k < K; k++) {
      let flat = 0;
      for (let d = 0; d < small.length; d++) {
        const pd = Math.floor(p / ss[d]!) % small[d]!;
        const kd = Math.floor(k / ks[d]!) % kernel[d]!;
        flat += (pd + kd) * bs[d]!;
      }
      out[p * K + k] = flat;
    }
  }
  return out;
}

export const CONV_KINDS = [
  "conv1d",
  "conv2d",
  "conv3d",
  "conv",
  "conv_transpose1d",
  "conv_transpose2d",
  "conv_transpose3d",
  "conv_transpose",
  "depthwise_conv2d",
  "depthwise_conv1d",
  "separable_conv2d",
  "separable_conv1d",
];

/** The reference for one conv kind. */
export function convReference(kind: string): Reference<ConvPlan> {
  const variant = variantOf(kind);
  return {
    kinds: [kind],
    plan(source, target, random) {
      // A channels-first depthwise weight [C·m, 1, k...] does not say C; Keras' [k..., C, m] does.
      const depthwise = variant === "depthwise" || variant === "separable";
      const stated =
        depthwise && !CHANNELS_FIRST.has(target.framework) && CHANNELS_FIRST.has(source.framework) ? geometry(target, variant).inChannels : undefined;
      const s = geometry(source, variant, stated);
      const t = geometry(target, variant, s.inChannels);
      if (s.kernel.join() !== t.kernel.join() || s.inChannels !== t.inChannels || s.outChannels !== t.outChannels || s.multiplier !== t.multiplier) {
        throw new Disagreement(
          `source is ${s.inChannels}→${s.outChannels} channels, kernel ${s.kernel.join("×")}; converted is ${t.inChannels}→${t.outChannels}, kernel ${t.kernel.join("×")}`,
        );
      }
      const inSpatial = s.kernel.map((k) => k + 2);
      const outSpatial = variant === "transpose" ? inSpatial.map((n, d) => n + s.kernel[d]! - 1) : inSpatial.map((n, d) => n - s.kernel[d]! + 1);
      const big = isBig(weights(source, variant).w) || isBig(weights(target, variant).w);
      return { variant, ...s, inSpatial, outSpatial, outputs: sampleBlock(s.outChannels, big ? SAMPLE : s.outChannels, random) };
    },
    input(plan, random) {
      const x = new Float64Array(plan.inChannels * product(plan.inSpatial));
      for (let i = 0; i < x.length; i++) x[i] = random() * 2 - 1;
      return x;
    },
    forward(side, plan, input) {
      const { w, bias, pointwise, depthwiseBias } = weights(side, plan.variant);
      const g: Geometry = plan;
      const P = product(plan.inSpatial);
      const Q = product(plan.outSpatial);
      const K = product(plan.kernel);
      const index = weightIndex(side, plan.variant, g);
      if (plan.variant === "transpose") {
        const at = offsets(plan.inSpatial, plan.kernel, plan.outSpatial);
        const inPer = g.inChannels / g.groups;
        const outPer = g.outChannels / g.groups;
        const y = new Float64Array(plan.outputs.length * Q);
        plan.outputs.forEach((o, n) => {
          const group = Math.floor(o / outPer);
          for (let i = group * inPer; i < (group + 1) * inPer; i++) {
            for (let p = 0; p < P; p++) {
              const x = input[i * P + p]!;
              for (let k = 0; k < K; k++) y[n * Q + at[p * K + k]!] += x * w.at(index(o % outPer, i, k));
            }
          }
          if (bias) for (let q = 0; q < Q; q++) y[n * Q + q] += bias.at(o);
        });
        return y;
      }
      const at = offsets(plan.outSpatial, plan.kernel, plan.inSpatial);
      // Output channel o of group ⌊o / outPer⌋ reads that group's inPer input channels.
      const conv1 = (
        channels: number[],
        inPer: number,
        outPer: number,
        weightAt: (o: number, i: number, k: number) => number,
        src: Float64Array,
        b?: Param,
      ) => {
        const y = new Float64Array(channels.length * Q);
        channels.forEach((o, n) => {
          const first = Math.floor(o / outPer) * inPer;
          for (let q = 0; q < Q; q++) {
            let acc = b ? b.at(o) : 0;
            for (let i = 0; i < inPer; i++) for (let k = 0; k < K; k++) acc += src[(first + i) * P + at[q * K + k]!]! * weightAt(o, i, k);
            y[n * Q + q] = acc;
          }
        });
        return y;
      };
      if (plan.variant === "conv")
        return conv1(plan.outputs, g.inChannels / g.groups, g.outChannels / g.groups, (o, i, k) => w.at(index(o, i, k)), input, bias);
      const depthOut = Array.from({ length: g.inChannels * g.multiplier }, (_, i) => i);
      const depth = conv1(
        plan.variant === "depthwise" ? plan.outputs : depthOut,
        1,
        g.multiplier,
        (o, i, k) => w.at(index(o, i, k)),
        input,
        plan.variant === "depthwise" ? bias : depthwiseBias,
      );
      if (plan.variant === "depthwise" || !pointwise) return depth;
      // Pointwise 1×1: PyTorch [O, C·m, 1, 1], Keras [1, 1, C·m, O].
      const M = depthOut.length;
      const cf = CHANNELS_FIRST.has(side.framework);
      const y = new Float64Array(plan.outputs.length * Q);
      plan.outputs.forEach((o, n) => {
        for (let q = 0; q < Q; q++) {
          let acc = bias ? bias.at(o) : 0;
          for (let c = 0; c < M; c++) acc += depth[c * Q + q]! * pointwise.at(cf ? o * M + c : c * g.outChannels + o);
          y[n * Q + q] = acc;
        }
      });
      return y;
    },
    notes(plan) {
      return plan.outputs.length < plan.outChannels ? [`sampled ${plan.outputs.length} of ${plan.outChannels} output channels`] : [];
    },
  };
}
