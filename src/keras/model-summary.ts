import type { JsonValue } from "../tensor/checkpoint.js";
import { listLayers, type ListedLayer } from "./config-graph.js";

// One line for a Keras model config (`model_config` of an .h5, `config` of a .keras): its class,
// name, layer count and the shapes at its ends, instead of thousands of characters of JSON.
// Keras configs hold input shapes but not output shapes: an output's shape is given when the
// layers before it say it (a Dense's units after shape-keeping layers), else its layer is named.

type Config = Record<string, JsonValue>;

const asObject = (v: JsonValue | undefined): Config | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Config) : undefined);

/** Layers whose output has their input's shape, followed back to find an output's shape. */
const SAME_SHAPE = /^(Activation|ReLU|LeakyReLU|PReLU|ELU|Softmax|Dropout|GaussianNoise|GaussianDropout|AlphaDropout|BatchNormalization|LayerNormalization)$/;

const shapeText = (shape: JsonValue | undefined) => (Array.isArray(shape) ? `(${shape.map((d) => (d === null ? "None" : String(d))).join(", ")})` : undefined);

/** Whether a meta value is a Keras model config ({class_name, config: {layers | name}}). */
export function isKerasModelConfig(value: JsonValue | undefined): boolean {
  const root = asObject(value);
  const config = asObject(root?.config);
  return typeof root?.class_name === "string" && config !== undefined && (Array.isArray(config.layers) || asObject(root?.build_config) !== undefined);
}

function inputShapes(root: Config, layers: ListedLayer[]): string[] {
  const fromInputs = layers
    .filter((l) => l.className === "InputLayer")
    .map((l) => shapeText(l.config.batch_input_shape ?? l.config.batch_shape))
    .filter((s): s is string => s !== undefined);
  if (fromInputs.length) return fromInputs;
  const first = layers[0]?.config;
  const declared = shapeText(first?.batch_input_shape ?? first?.batch_shape);
  if (declared) return [declared];
  const built = asObject(root.build_config)?.input_shape;
  return built === undefined ? [] : [shapeText(built) ?? JSON.stringify(built)];
}

/**
 * An output's shape when the config says it for sure (an MLP: rank-2 input, only Dense and
 * shape-keeping layers, so a Dense's units are the last axis), else its layer's name and class.
 */
function outputText(layers: ListedLayer[], inputs: string[], outputName: string | undefined): string | undefined {
  const at = outputName === undefined ? layers.length - 1 : layers.findIndex((l) => l.config.name === outputName);
  if (at < 0) return outputName;
  const mlp =
    inputs.length > 0 &&
    inputs.every((s) => s.split(",").length === 2) &&
    layers.every((l) => l.className === "InputLayer" || l.className === "Dense" || SAME_SHAPE.test(l.className));
  let producer = at;
  while (producer > 0 && SAME_SHAPE.test(layers[producer]!.className)) producer--;
  const units = layers[producer]!.className === "Dense" ? layers[producer]!.config.units : undefined;
  if (mlp && typeof units === "number") return `(None, ${units})`;
  return `${String(layers[at]!.config.name ?? "?")} (${layers[at]!.className})`;
}

/** `Functional "model", 7 layers (Conv2D, BatchNormalization ×2, ...); input (None, 8, 8, 3); output dense_64 (Dense)`. */
export function kerasModelSummary(value: JsonValue): string {
  const root = asObject(value)!;
  const config = asObject(root.config)!;
  const layers = [...listLayers(root, { nested: false })];
  const functional = layers.some((l) => l.hasInboundNodes);
  const counts = new Map<string, number>();
  for (const l of layers) if (l.className !== "InputLayer") counts.set(l.className, (counts.get(l.className) ?? 0) + 1);
  const classes = [...counts].map(([c, n]) => (n > 1 ? `${c} ×${n}` : c));
  const listed = classes.length > 6 ? `${classes.slice(0, 6).join(", ")}, …` : classes.join(", ");
  const parts = [`${String(root.class_name)}${typeof config.name === "string" ? ` "${config.name}"` : ""}`];
  const counted = layers.filter((l) => l.className !== "InputLayer").length;
  parts[0] += layers.length ? `, ${counted} layer${counted === 1 ? "" : "s"}${listed ? ` (${listed})` : ""}` : "";
  const inputs = inputShapes(root, layers);
  if (inputs.length) parts.push(`input ${inputs.join(", ")}`);
  const outputNames =
    functional && Array.isArray(config.output_layers)
      ? config.output_layers.map((o) => (Array.isArray(o) && typeof o[0] === "string" ? o[0] : undefined))
      : [undefined];
  const outputs = layers.length ? outputNames.map((n) => outputText(layers, inputs, n)).filter((o): o is string => o !== undefined) : [];
  if (outputs.length) parts.push(`output ${outputs.join(", ")}`);
  return parts.join("; ");
}
