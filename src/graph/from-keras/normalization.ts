import { float, int, ints } from "../ir.js";
import { known, type KValue, type Lowering } from "./context.js";
import { registerLayers } from "./registry.js";

// BatchNormalization (inference: moving statistics; ONNX's op normalizes axis 1, which is where a
// channels-first feature map holds Keras' last axis) and LayerNormalization (written out as
// reductions, so any opset from 13 runs it). Keras' default epsilon is 1e-3.

function only(lower: Lowering, xs: KValue[]): KValue {
  if (xs.length !== 1) lower.refuse(`${xs.length} inputs`, "where the layer takes one");
  return xs[0]!;
}

/** The one normalized axis, which must be the last (channels). */
function lastAxisOnly(lower: Lowering, x: KValue): void {
  const axis = lower.config.axis ?? -1;
  const list = Array.isArray(axis) ? axis : [axis];
  const r = x.shape.length;
  if (list.length !== 1 || typeof list[0] !== "number" || (list[0] !== -1 && list[0] !== r - 1))
    lower.refuse(`axis=${JSON.stringify(axis)}`, "(only the last axis is implemented)");
}

function epsilon(lower: Lowering): number {
  return typeof lower.config.epsilon === "number" ? lower.config.epsilon : 1e-3;
}

/** gamma (or ones) and beta (or zeros) as initializer names. */
function scaleAndShift(lower: Lowering, features: number | string): { gamma: string; beta: string } {
  const n = typeof features === "number" ? features : undefined;
  const c = lower.config;
  const ones = () => (n === undefined ? lower.refuse("scale=false", "on unknown features") : lower.constant("float32", Array<number>(n).fill(1)));
  const zeros = () => (n === undefined ? lower.refuse("center=false", "on unknown features") : lower.constant("float32", Array<number>(n).fill(0)));
  const gamma = c.scale === false ? ones() : lower.initializer(lower.weight("gamma", [n]));
  const beta = c.center === false ? zeros() : lower.initializer(lower.weight("beta", [n]));
  return { gamma, beta };
}

registerLayers(["BatchNormalization"], (lower, xs) => {
  const x = only(lower, xs);
  lastAxisOnly(lower, x);
  const features = x.shape[x.shape.length - 1]!;
  if (!known(features)) return lower.refuse("an input with unknown channels");
  const { gamma, beta } = scaleAndShift(lower, features);
  const mean = lower.initializer(lower.weight("moving_mean", [features]));
  const variance = lower.initializer(lower.weight("moving_variance", [features]));
  const held = lower.toFirst(x);
  const y = lower.op("BatchNormalization", [held.name, gamma, beta, mean, variance], { epsilon: float(epsilon(lower)) });
  return { ...held, name: y };
});

registerLayers(["LayerNormalization"], (lower, xs) => {
  const x = lower.toLast(only(lower, xs));
  lastAxisOnly(lower, x);
  if (lower.config.rms_scaling === true) lower.refuse("rms_scaling=true");
  const features = x.shape[x.shape.length - 1]!;
  const { gamma, beta } = scaleAndShift(lower, features);
  const axes = { axes: ints([-1]), keepdims: int(1) };
  const centered = lower.op("Sub", [x.name, lower.op("ReduceMean", [x.name], axes)]);
  const variance = lower.op("ReduceMean", [lower.op("Mul", [centered, centered])], axes);
  const normed = lower.op("Div", [centered, lower.op("Sqrt", [lower.op("Add", [variance, lower.scalar(epsilon(lower))])])]);
  return { ...x, name: lower.op("Add", [lower.op("Mul", [normed, gamma]), beta]) };
});

// GroupNormalization (Keras 3): the channels split into `groups`, each normalized over its
// channels and every position (population variance), then scaled and shifted per channel.
registerLayers(["GroupNormalization"], (lower, xs) => {
  const x = lower.toLast(only(lower, xs));
  lastAxisOnly(lower, x);
  const channels = x.shape[x.shape.length - 1];
  const groups = typeof lower.config.groups === "number" ? lower.config.groups : 32;
  if (!known(channels)) return lower.refuse("an input with unknown channels");
  if (channels % groups !== 0) return lower.refuse(`groups=${groups}`, `does not divide the ${channels} channels`);
  const r = x.shape.length;
  if (r < 2) return lower.refuse(`an input of rank ${r}`);
  const { gamma, beta } = scaleAndShift(lower, channels);
  // [N, ...spatial, C] → [N, ...spatial, G, C/G], reduced over every axis but batch and group.
  const grouped = lower.op("Reshape", [x.name, lower.constant("int64", [...Array<number>(r - 1).fill(0), groups, channels / groups])]);
  const reduced = [...Array.from({ length: r - 2 }, (_, i) => i + 1), r];
  const axes = { axes: ints(reduced), keepdims: int(1) };
  const centered = lower.op("Sub", [grouped, lower.op("ReduceMean", [grouped], axes)]);
  const variance = lower.op("ReduceMean", [lower.op("Mul", [centered, centered])], axes);
  const normed = lower.op("Div", [centered, lower.op("Sqrt", [lower.op("Add", [variance, lower.scalar(epsilon(lower))])])]);
  const back = lower.op("Reshape", [normed, lower.op("Shape", [x.name])]);
  return { ...x, name: lower.op("Add", [lower.op("Mul", [back, gamma]), beta]) };
});
