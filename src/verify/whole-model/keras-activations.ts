import type { JsonValue } from "../../tensor/checkpoint.js";
import { NotCheckable } from "../params.js";
import type { Value } from "./value.js";
import type { KerasNode } from "./keras-graph.js";
import { kerasHardSigmoid } from "../layers/recurrent.js";

// Keras activations by the names a layer config gives them (the common ones; others are not covered).

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
  softsign: (x) => x / (1 + Math.abs(x)),
  exponential: Math.exp,
  mish: (x) => x * Math.tanh(Math.log1p(Math.exp(x))),
  leaky_relu: (x) => (x > 0 ? x : 0.2 * x),
  hard_silu: (x) => (x * Math.min(6, Math.max(0, x + 3))) / 6,
  hard_swish: (x) => (x * Math.min(6, Math.max(0, x + 3))) / 6,
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

export function activate(v: Value, activation: JsonValue | undefined, node: KerasNode): Value {
  const name = typeof activation === "string" ? activation : ((activation as { class_name?: string } | null)?.class_name ?? "linear");
  if (name === "softmax") return softmax(v);
  if (name === "log_softmax") return { shape: v.shape, data: softmax(v).data.map(Math.log) };
  const f = name === "hard_sigmoid" ? kerasHardSigmoid(node.kerasMajor) : ACTIVATIONS[name];
  if (!f) throw new NotCheckable(`activation '${name}' of layer ${node.name} is not covered`);
  return { shape: v.shape, data: v.data.map(f) };
}

export function softmax(v: Value): Value {
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
