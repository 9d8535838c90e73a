import type { JsonValue } from "../tensor/checkpoint.js";

/** Keras layer classes that hold layers of their own (a nested model in a model config). */
export const MODEL_CLASSES: ReadonlySet<string> = new Set(["Sequential", "Functional", "Model"]);

/** Scalar-ish config entries a mapping rule may want (data_format, groups, epsilon ...). */
export function simpleAttributes(config: Record<string, JsonValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === null || typeof v !== "object") out[k] = v;
    else if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) out[k] = v;
  }
  return out;
}

/** Layers that are the identity at inference (dropout and noise layers, activity regularization). */
export const INFERENCE_IDENTITY: readonly string[] = [
  "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
];
