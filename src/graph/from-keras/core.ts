import { float, int, type Dim } from "../ir.js";
import { activate } from "./activations.js";
import { known, type KValue, type Lowering } from "./context.js";
import { registerLayers } from "./registry.js";
import { INFERENCE_IDENTITY } from "../../keras/model-config.js";

// Dense, the activation layers, the layers that are identities at inference, Rescaling,
// Normalization and Embedding.

const one = (lower: Lowering, xs: KValue[]): KValue => {
  if (xs.length !== 1) lower.refuse(`${xs.length} inputs`, "where the layer takes one");
  return xs[0]!;
};

registerLayers(["Dense"], (lower, xs) => {
  const x = lower.toLast(one(lower, xs));
  const c = lower.config;
  const inFeatures = x.shape[x.shape.length - 1];
  const units = typeof c.units === "number" ? c.units : lower.refuse("units", "is missing");
  const kernel = lower.weight("kernel", [known(inFeatures) ? inFeatures : undefined, units]);
  let y = lower.op("MatMul", [x.name, lower.initializer(kernel)]);
  if (c.use_bias !== false) y = lower.op("Add", [y, lower.initializer(lower.weight("bias", [units]))]);
  return activate(lower, { ...x, name: y, shape: [...x.shape.slice(0, -1), units] }, c.activation);
});

registerLayers(["Activation"], (lower, xs) => activate(lower, one(lower, xs), lower.config.activation));

/** Layers that do nothing at inference. */
registerLayers([...INFERENCE_IDENTITY], (lower, xs) => one(lower, xs));

registerLayers(["ReLU"], (lower, xs) => {
  const x = one(lower, xs);
  const c = lower.config;
  const slope = typeof c.negative_slope === "number" ? c.negative_slope : 0;
  const threshold = typeof c.threshold === "number" ? c.threshold : 0;
  const max = typeof c.max_value === "number" ? c.max_value : undefined;
  let y: string;
  if (slope === 0 && threshold === 0) y = lower.op("Relu", [x.name]);
  else {
    // x >= threshold ? x : slope * (x - threshold)
    const below = lower.op("Mul", [lower.op("Sub", [x.name, lower.scalar(threshold)]), lower.scalar(slope)]);
    y = lower.op("Where", [lower.op("GreaterOrEqual", [x.name, lower.scalar(threshold)]), x.name, below]);
  }
  if (max !== undefined) y = lower.op("Min", [y, lower.scalar(max)]);
  return { ...x, name: y };
});

registerLayers(["LeakyReLU"], (lower, xs) => {
  const x = one(lower, xs);
  const c = lower.config;
  const alpha = typeof c.negative_slope === "number" ? c.negative_slope : typeof c.alpha === "number" ? c.alpha : 0.3;
  return { ...x, name: lower.op("LeakyRelu", [x.name], { alpha: float(alpha) }) };
});

registerLayers(["ELU"], (lower, xs) => {
  const x = one(lower, xs);
  const alpha = typeof lower.config.alpha === "number" ? lower.config.alpha : 1;
  return { ...x, name: lower.op("Elu", [x.name], { alpha: float(alpha) }) };
});

registerLayers(["ThresholdedReLU"], (lower, xs) => {
  const x = one(lower, xs);
  const theta = typeof lower.config.theta === "number" ? lower.config.theta : 1;
  return { ...x, name: lower.op("ThresholdedRelu", [x.name], { alpha: float(theta) }) };
});

registerLayers(["Softmax"], (lower, xs) => {
  const x = one(lower, xs);
  if (lower.call.keywordInputs.mask) lower.refuse("mask", "is not implemented");
  const axis = lower.config.axis ?? -1;
  if (typeof axis !== "number") return lower.refuse(`axis=${JSON.stringify(axis)}`);
  return { ...x, name: lower.op("Softmax", [x.name], { axis: int(lower.physicalAxis(x, axis)) }) };
});

registerLayers(["PReLU"], (lower, xs) => {
  const x = lower.toLast(one(lower, xs));
  const shared = Array.isArray(lower.config.shared_axes) ? (lower.config.shared_axes as number[]) : [];
  const alphaShape = x.shape.slice(1).map((d, i) => (shared.includes(i + 1) ? 1 : known(d) ? d : undefined));
  const alpha = lower.weight("alpha", alphaShape);
  return { ...x, name: lower.op("PRelu", [x.name, lower.initializer(alpha)]) };
});

/** A per-channel list of numbers (Rescaling's scale, Normalization's mean) broadcast on the last axis. */
function lastAxisConstant(lower: Lowering, x: KValue, value: unknown, option: string): { name: string; x: KValue } {
  if (typeof value === "number") return { name: lower.scalar(value), x };
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) {
    const y = lower.toLast(x);
    return { name: lower.constant("float32", value as number[]), x: y };
  }
  return lower.refuse(`${option}=${JSON.stringify(value)}`);
}

registerLayers(["Rescaling"], (lower, xs) => {
  const c = lower.config;
  const scale = lastAxisConstant(lower, one(lower, xs), c.scale ?? 1, "scale");
  const offset = lastAxisConstant(lower, scale.x, c.offset ?? 0, "offset");
  const x = offset.x;
  return { ...x, name: lower.op("Add", [lower.op("Mul", [x.name, scale.name]), offset.name]) };
});

registerLayers(["Normalization"], (lower, xs) => {
  const c = lower.config;
  if (c.invert === true) lower.refuse("invert=true");
  const x = lower.toLast(one(lower, xs));
  const axes = c.axis === undefined || c.axis === null ? [-1] : Array.isArray(c.axis) ? (c.axis as number[]) : [c.axis as number];
  const r = x.shape.length;
  const kept = axes.map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b);
  // The stored mean/variance have the kept axes' sizes; broadcast them to [1, ..., kept dims ...].
  const broadcast: number[] = x.shape.map((d, i) => (kept.includes(i) && known(d) ? d : 1));
  if (kept.some((a) => !known(x.shape[a]))) lower.refuse(`axis=${JSON.stringify(c.axis)}`, "is over a dimension of unknown size");
  const sizes = kept.map((a) => x.shape[a] as number);
  const reshapeTo = (name: string) => lower.op("Reshape", [name, lower.constant("int64", broadcast)]);
  const mean = lower.weight("mean", undefined, true);
  const variance = lower.weight("variance", undefined, true);
  if (!mean || !variance) return lower.refuse("mean/variance", "are neither weights in the file nor numbers in the config");
  const count = sizes.reduce((a, b) => a * b, 1);
  if (mean.shape.reduce((a, b) => a * b, 1) !== count) lower.refuse("weight mean", `is [${mean.shape.join(",")}], the axes hold ${count} values`);
  lower.weight("count", undefined, true);
  const std = lower.op("Max", [lower.op("Sqrt", [reshapeTo(lower.initializer(variance))]), lower.scalar(1e-7)]);
  const y = lower.op("Div", [lower.op("Sub", [x.name, reshapeTo(lower.initializer(mean))]), std]);
  return { ...x, name: y };
});

registerLayers(["Embedding"], (lower, xs) => {
  const x = one(lower, xs);
  const c = lower.config;
  const dim = typeof c.output_dim === "number" ? c.output_dim : undefined;
  const table = lower.weight("embeddings", [typeof c.input_dim === "number" ? c.input_dim : undefined, dim]);
  const ids = x.dtype === "int64" ? x.name : lower.op("Cast", [x.name], { to: int(7) });
  const shape: Dim[] = [...x.shape, table.shape[1]!];
  const y: KValue = { name: lower.op("Gather", [lower.initializer(table), ids]), shape, dtype: "float32" };
  if (c.mask_zero !== true) return y;
  if (x.shape.length !== 2) lower.refuse(`mask_zero=true on an input of rank ${x.shape.length}`, "(a mask over [batch, steps] is implemented)");
  return { ...y, mask: lower.op("Not", [lower.op("Equal", [ids, lower.constant("int64", [0], [])])]) };
});
