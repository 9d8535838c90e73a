import type { Tensor } from "../../tensor/tensor.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { NotCheckable, wholeParam } from "../params.js";
import { Disagreement } from "../reference.js";
import type { KerasNode } from "./keras-graph.js";
import { flat, product, unflat, type Value } from "./value.js";

// Layers that compute each value from itself (and a per-position constant): Rescaling, the
// configurable ReLU, ELU, ThresholdedReLU and PReLU, with Keras' definitions.

const num = (v: JsonValue | undefined, fallback: number): number => (typeof v === "number" ? v : fallback);

function map(x: Value, f: (v: number, i: number) => number): Value {
  return { shape: x.shape, data: x.data.map(f) };
}

/** A number, or a list broadcast on the last axis (Rescaling's scale and offset). */
function lastAxisValues(node: KerasNode, x: Value, value: JsonValue | undefined, fallback: number, option: string): (i: number) => number {
  if (value === undefined || value === null) return () => fallback;
  if (typeof value === "number") return () => value;
  const C = x.shape[x.shape.length - 1]!;
  if (Array.isArray(value) && value.length === C && value.every((v) => typeof v === "number")) return (i) => value[i % C] as number;
  throw new NotCheckable(`layer ${node.name} has ${option}=${JSON.stringify(value)} (not covered)`);
}

export function rescaling(node: KerasNode, x: Value): Value {
  const scale = lastAxisValues(node, x, node.config.scale, 1, "scale");
  const offset = lastAxisValues(node, x, node.config.offset, 0, "offset");
  return map(x, (v, i) => v * scale(i) + offset(i));
}

/** max_value if x ≥ max_value; x if threshold ≤ x; negative_slope · (x − threshold) below. */
export function relu(node: KerasNode, x: Value): Value {
  const c = node.config;
  const slope = num(c.negative_slope, 0);
  const threshold = num(c.threshold, 0);
  const max = typeof c.max_value === "number" ? c.max_value : Infinity;
  return map(x, (v) => Math.min(max, v >= threshold ? v : slope * (v - threshold)));
}

export function elu(node: KerasNode, x: Value): Value {
  const alpha = num(node.config.alpha, 1);
  return map(x, (v) => (v > 0 ? v : alpha * Math.expm1(v)));
}

export function thresholdedRelu(node: KerasNode, x: Value): Value {
  const theta = num(node.config.theta, 1);
  return map(x, (v) => (v > theta ? v : 0));
}

/** x, or alpha · x below zero; alpha has the input's shape without the batch, 1 on shared axes. */
export async function prelu(node: KerasNode, x: Value, tensors: readonly Tensor[]): Promise<Value> {
  const weight = tensors.find((t) => /(^|\/)alpha(:\d+)?$/.test(t.name));
  if (!weight) throw new NotCheckable(`layer ${node.name} (PReLU) has no alpha in the source file`);
  const dims = x.shape.slice(1);
  if (weight.shape.length !== dims.length || weight.shape.some((d, i) => d !== 1 && d !== dims[i]))
    throw new Disagreement(`layer ${node.name}'s alpha is [${weight.shape.join(",")}], its input [${dims.join(",")}]`);
  const alpha = await wholeParam(weight);
  const P = product(dims);
  // A shared axis (size 1 in alpha) takes alpha's one value whatever the input's position on it.
  const alphaAt = (i: number) =>
    flat(
      unflat(i % P, dims).map((k, d) => (weight.shape[d] === 1 ? 0 : k)),
      weight.shape,
    );
  return map(x, (v, i) => (v > 0 ? v : alpha.at(alphaAt(i)) * v));
}
