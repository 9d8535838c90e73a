import type { Tensor } from "../../tensor/tensor.js";
import { CONVENTIONS } from "../../vocabulary/conventions.js";
import { NotCheckable, type Param } from "../params.js";
import { Disagreement, type Framework, type LayerSide, type Reference, type Which, numberAttr, product, role, required } from "../reference.js";

// Normalizations in inference mode, with each side's ε:
//   BatchNorm: y = (x − mean) / √(var + ε) · γ + β per channel
//     PyTorch weight, bias, running_mean, running_var (ε 1e-5) ; Paddle weight, bias, _mean, _variance (1e-5)
//     Keras gamma, beta, moving_mean, moving_variance (ε 1e-3) ; ONNX scale, B, input_mean, input_var (epsilon)
//   LayerNorm over the trailing features: y = (x − μ) / √(σ² + ε) · γ + β
//     PyTorch / Paddle weight, bias (1e-5) ; Keras gamma, beta (1e-3) ; ONNX Scale, B (epsilon)
//   GroupNorm over each sample's channels split into G groups (with all their positions):
//     y = (x − μ_g) / √(σ²_g + ε) · γ_c + β_c ; roles as LayerNorm's (ONNX GroupNormalization
//     scale, bias); G is torch's num_groups, Keras' groups, ONNX's num_groups attribute
//   InstanceNorm: GroupNorm with one group per channel (each sample's channel over its positions);
//     PyTorch weight, bias ; Paddle scale, bias ; ONNX InstanceNormalization scale, B (all ε 1e-5).
//     A torch layer that tracks running statistics uses them in eval mode: not checked here.
// ε is not a weight: the file may state it (Keras config, ONNX attribute, whole-model pickle).
// When only one side states it, that value is assumed on both; when neither does, the source
// framework's default is assumed on both and the row says so.

export interface NormPlan {
  features: number;
  batch: number;
  epsilon: Record<Which, number>;
  note?: string;
}

function statedEpsilon(side: LayerSide<unknown>): number | undefined {
  return numberAttr(side.attributes, "eps", "epsilon");
}

function epsilons(source: LayerSide<unknown>, target: LayerSide<unknown>): { epsilon: Record<Which, number>; note?: string } {
  const s = statedEpsilon(source);
  const t = statedEpsilon(target);
  if (s !== undefined && t !== undefined) return { epsilon: { source: s, target: t } };
  if (s !== undefined) return { epsilon: { source: s, target: s }, note: `ε ${s} stated by the source only, assumed for the converted layer` };
  if (t !== undefined) return { epsilon: { source: t, target: t }, note: `ε ${t} stated by the converted file only, assumed for the source` };
  const d = CONVENTIONS[source.framework].defaultEpsilon;
  const other = CONVENTIONS[target.framework].defaultEpsilon;
  return {
    epsilon: { source: d, target: d },
    note: `ε not in either file: ${source.framework}'s default ${d} assumed on both sides${other !== d ? ` (${target.framework}'s default is ${other}: build that layer with ε=${d})` : ""}`,
  };
}

const BN_ROLES: Record<Framework, { scale: string; shift: string; mean: string; variance: string }> = {
  pytorch: { scale: "weight", shift: "bias", mean: "running_mean", variance: "running_var" },
  paddle: { scale: "weight", shift: "bias", mean: "_mean", variance: "_variance" },
  keras: { scale: "gamma", shift: "beta", mean: "moving_mean", variance: "moving_variance" },
  onnx: { scale: "BatchNormalization:scale", shift: "BatchNormalization:B", mean: "BatchNormalization:input_mean", variance: "BatchNormalization:input_var" },
  // The TFLite converter folds normalizations into the weights before them: no file has these; TF's names for completeness.
  tflite: { scale: "gamma", shift: "beta", mean: "moving_mean", variance: "moving_variance" },
};

const LN_ROLES: Record<Framework, { scale: string; shift: string }> = {
  pytorch: { scale: "weight", shift: "bias" },
  paddle: { scale: "weight", shift: "bias" },
  keras: { scale: "gamma", shift: "beta" },
  onnx: { scale: "LayerNormalization:Scale", shift: "LayerNormalization:B" },
  tflite: { scale: "gamma", shift: "beta" },
};

function bnFeatures(side: LayerSide<Tensor>): number {
  return product(required(side, "running mean", BN_ROLES[side.framework].mean).shape);
}

/** Features of a layer with a per-feature scale and shift (either may be absent). */
function affineFeatures(side: LayerSide<Tensor>, r: { scale: string; shift: string }): number {
  const t = role(side, r.scale) ?? role(side, r.shift);
  if (!t) throw new Disagreement(`${side.framework} side has neither ${r.scale} nor ${r.shift}`);
  return product(t.shape);
}

function lnFeatures(side: LayerSide<Tensor>): number {
  return affineFeatures(side, LN_ROLES[side.framework]);
}

function makePlan(source: LayerSide<Tensor>, target: LayerSide<Tensor>, features: (s: LayerSide<Tensor>) => number): NormPlan {
  const n = features(source);
  const m = features(target);
  if (n !== m) throw new Disagreement(`source normalizes ${n} features, the converted layer ${m}`);
  return { features: n, batch: 3, ...epsilons(source, target) };
}

function randomInput(p: NormPlan, random: () => number): Float64Array {
  const x = new Float64Array(p.batch * p.features);
  for (let i = 0; i < x.length; i++) x[i] = random() * 4 - 2;
  return x;
}

export const batchnorm: Reference<NormPlan> = {
  kinds: ["batchnorm"],
  plan: (s, t) => makePlan(s, t, bnFeatures),
  input: randomInput,
  forward(side, p, x, which) {
    const r = BN_ROLES[side.framework];
    const gamma = role(side, r.scale);
    const beta = role(side, r.shift);
    const mean = required(side, "mean", r.mean);
    const variance = required(side, "variance", r.variance);
    const y = new Float64Array(x.length);
    for (let n = 0; n < p.batch; n++) {
      for (let c = 0; c < p.features; c++) {
        const v = (x[n * p.features + c]! - mean.at(c)) / Math.sqrt(variance.at(c) + p.epsilon[which]);
        y[n * p.features + c] = v * (gamma ? gamma.at(c) : 1) + (beta ? beta.at(c) : 0);
      }
    }
    return y;
  },
  notes: (p) => (p.note ? [p.note] : []),
};

export const layernorm: Reference<NormPlan> = {
  kinds: ["layernorm"],
  plan: (s, t) => makePlan(s, t, lnFeatures),
  input: randomInput,
  forward(side, p, x, which) {
    const r = LN_ROLES[side.framework];
    const gamma = role(side, r.scale);
    const beta = role(side, r.shift);
    const D = p.features;
    const y = new Float64Array(x.length);
    for (let n = 0; n < p.batch; n++) {
      let mean = 0;
      for (let d = 0; d < D; d++) mean += x[n * D + d]!;
      mean /= D;
      let variance = 0;
      for (let d = 0; d < D; d++) variance += (x[n * D + d]! - mean) ** 2;
      variance /= D;
      const inv = 1 / Math.sqrt(variance + p.epsilon[which]);
      for (let d = 0; d < D; d++) y[n * D + d] = (x[n * D + d]! - mean) * inv * (gamma ? gamma.at(d) : 1) + (beta ? beta.at(d) : 0);
    }
    return y;
  },
  notes: (p) => (p.note ? [p.note] : []),
};

const GN_ROLES: Record<Framework, { scale: string; shift: string }> = {
  ...LN_ROLES,
  onnx: { scale: "GroupNormalization:scale", shift: "GroupNormalization:bias" },
};

export interface GroupNormPlan extends NormPlan {
  groups: number;
  /** Positions per channel of the canonical input [batch, channels, positions]. */
  positions: number;
}

function groupInput(p: GroupNormPlan, random: () => number): Float64Array {
  const x = new Float64Array(p.batch * p.features * p.positions);
  for (let i = 0; i < x.length; i++) x[i] = random() * 4 - 2;
  return x;
}

function statedGroups(side: LayerSide<unknown>): number | undefined {
  return numberAttr(side.attributes, "num_groups", "groups");
}

export const groupnorm: Reference<GroupNormPlan> = {
  kinds: ["groupnorm"],
  plan(source, target) {
    const base = makePlan(source, target, (side) => affineFeatures(side, GN_ROLES[side.framework]));
    const [s, t] = [statedGroups(source), statedGroups(target)];
    if (s !== undefined && t !== undefined && s !== t) throw new Disagreement(`source normalizes ${s} groups, the converted layer ${t}`);
    const groups = s ?? t;
    if (groups === undefined) throw new NotCheckable("neither file says the number of groups: give it with --layer 'REGEX=groupnorm(num_groups=G)'");
    if (!(Number.isInteger(groups) && groups > 0 && base.features % groups === 0))
      throw new Disagreement(`${base.features} channels do not split into ${groups} groups`);
    return { ...base, batch: 2, groups, positions: 5 };
  },
  input: groupInput,
  forward: (side, p, x, which) => groupNormalize(side, GN_ROLES[side.framework], p, x, which),
  notes: (p) => (p.note ? [p.note] : []),
};

function groupNormalize(side: LayerSide<Param>, r: { scale: string; shift: string }, p: GroupNormPlan, x: Float64Array, which: Which): Float64Array {
  const gamma = role(side, r.scale);
  const beta = role(side, r.shift);
  const [C, L] = [p.features, p.positions];
  const span = (C / p.groups) * L;
  const y = new Float64Array(x.length);
  for (let n = 0; n < p.batch; n++) {
    for (let g = 0; g < p.groups; g++) {
      const start = n * C * L + g * span;
      let mean = 0;
      for (let i = 0; i < span; i++) mean += x[start + i]!;
      mean /= span;
      let variance = 0;
      for (let i = 0; i < span; i++) variance += (x[start + i]! - mean) ** 2;
      variance /= span;
      const inv = 1 / Math.sqrt(variance + p.epsilon[which]);
      for (let i = 0; i < span; i++) {
        const c = g * (C / p.groups) + Math.floor(i / L);
        y[start + i] = (x[start + i]! - mean) * inv * (gamma ? gamma.at(c) : 1) + (beta ? beta.at(c) : 0);
      }
    }
  }
  return y;
}

const IN_ROLES: Record<Framework, { scale: string; shift: string }> = {
  ...LN_ROLES,
  paddle: { scale: "scale", shift: "bias" },
  onnx: { scale: "InstanceNormalization:scale", shift: "InstanceNormalization:B" },
};

export const instancenorm: Reference<GroupNormPlan> = {
  kinds: ["instancenorm"],
  plan(source, target) {
    for (const side of [source, target]) {
      if (role(side, "running_mean", "_mean")) throw new NotCheckable(`the ${side.framework} InstanceNorm tracks running statistics (eval mode uses them)`);
    }
    const base = makePlan(source, target, (side) => affineFeatures(side, IN_ROLES[side.framework]));
    return { ...base, batch: 2, groups: base.features, positions: 5 };
  },
  input: groupInput,
  forward: (side, p, x, which) => groupNormalize(side, IN_ROLES[side.framework], p, x, which),
  notes: (p) => (p.note ? [p.note] : []),
};
