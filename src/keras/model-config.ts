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
  "Dropout",
  "SpatialDropout1D",
  "SpatialDropout2D",
  "SpatialDropout3D",
  "GaussianNoise",
  "GaussianDropout",
  "AlphaDropout",
  "ActivityRegularization",
];

/** Elementwise merges of same-shaped inputs. */
export const ELEMENTWISE_MERGES: readonly string[] = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"];

/** Layers whose output has the channel axis (size and meaning) of their (first) input. */
export const KEEPS_CHANNELS: ReadonlySet<string> = new Set([
  ...INFERENCE_IDENTITY,
  ...ELEMENTWISE_MERGES,
  "InputLayer",
  "BatchNormalization",
  "LayerNormalization",
  "Masking",
  "Activation",
  "ReLU",
  "LeakyReLU",
  "PReLU",
  "ELU",
  "ThresholdedReLU",
  "Softmax",
  "MaxPooling1D",
  "MaxPooling2D",
  "MaxPooling3D",
  "AveragePooling1D",
  "AveragePooling2D",
  "AveragePooling3D",
  "MaxPool1D",
  "MaxPool2D",
  "MaxPool3D",
  "AvgPool1D",
  "AvgPool2D",
  "AvgPool3D",
  "ZeroPadding1D",
  "ZeroPadding2D",
  "ZeroPadding3D",
  "Cropping1D",
  "Cropping2D",
  "Cropping3D",
  "UpSampling1D",
  "UpSampling2D",
  "UpSampling3D",
]);

/**
 * ZeroPadding's `padding` / Cropping's `cropping` as a (begin, end) amount per spatial axis: an
 * int for all, one int per axis, or a pair per axis (1D also takes one bare pair). Undefined when
 * the value is none of these.
 */
export function kerasAxisPairs(value: unknown, rank: number): Array<[number, number]> | undefined {
  const isPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === "number");
  if (typeof value === "number") return Array.from({ length: rank }, () => [value, value]);
  if (rank === 1 && isPair(value)) return [[value[0], value[1]]];
  if (Array.isArray(value) && value.length === rank && value.every((v) => typeof v === "number" || isPair(v)))
    return value.map((v: number | [number, number]) => (typeof v === "number" ? [v, v] : [v[0], v[1]]));
  return undefined;
}
