import type { Checkpoint } from "../../tensor/checkpoint.js";

/**
 * Tensor names for legacy Keras HDF5 files.
 *
 * A tensor is named by its Keras weight name (`dense_1/kernel:0`) when that name already starts
 * with its layer's name, else by `<layer>/<weight name>`: quantizer layers share weight names
 * like `bits:0`, nested models list sub-layer names (`mobilenet/Conv1/kernel:0`), and Keras 3
 * writes scoped paths, so the layer prefix keeps names unique. Optimizer weights are named
 * `optimizer_weights/<weight name>`. The exact layer list and raw weight names are kept in
 * meta.keras_h5 so the file can be written back as it was.
 */
export function legacyTensorName(layer: string, weightName: string, _role?: string): string {
  return weightName === layer || weightName.startsWith(`${layer}/`) ? weightName : `${layer}/${weightName}`;
}

export interface LegacyLayer {
  name: string;
  /** Raw weight_names, in order. */
  weights: string[];
}

/** meta.keras_h5: how the weights were laid out. */
export interface LegacyLayout {
  /** model.save layout (model_weights group) rather than save_weights (root). */
  model: boolean;
  /** Every layer in layer_names order, weightless ones included. */
  layers: LegacyLayer[];
  /** weight_names of top_level_model_weights, when the file had that group. */
  topLevel?: string[];
  /** weight_names of optimizer_weights, when the file had them. */
  optimizer?: string[];
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** meta.keras_h5 of a checkpoint, when it is well-formed. */
export function legacyLayoutOf(checkpoint: Checkpoint | undefined): LegacyLayout | undefined {
  const raw = checkpoint?.meta.keras_h5 as Partial<LegacyLayout> | undefined;
  if (!raw || typeof raw !== "object" || !Array.isArray(raw.layers)) return undefined;
  if (!raw.layers.every((l) => l && typeof l.name === "string" && isStringArray(l.weights))) return undefined;
  if (raw.topLevel !== undefined && !isStringArray(raw.topLevel)) return undefined;
  if (raw.optimizer !== undefined && !isStringArray(raw.optimizer)) return undefined;
  return { model: raw.model === true, layers: raw.layers, topLevel: raw.topLevel, optimizer: raw.optimizer };
}

/** Every tensor name a layout implies, in order. */
export function layoutTensorNames(layout: LegacyLayout): string[] {
  const names = layout.layers.flatMap((l) => l.weights.map((w) => legacyTensorName(l.name, w)));
  if (layout.topLevel) names.push(...layout.topLevel.map((w) => legacyTensorName("top_level_model_weights", w)));
  if (layout.optimizer) names.push(...layout.optimizer.map((w) => legacyTensorName("optimizer_weights", w)));
  return names;
}

/**
 * A layout from tensor names alone (a non-Keras source, or names that no longer match meta):
 * the layer is the part before the first `/` (the whole name when there is none) and the weight
 * name is the tensor name, so the dataset lands at `<layer>/<name>` as Keras writes it.
 * Layers appear in first-seen order; tensors with role "optimizer" named `optimizer_weights/…`
 * go to the optimizer group.
 */
export function layoutFromNames(names: Array<{ name: string; role?: string }>, model: boolean): LegacyLayout {
  const layers = new Map<string, string[]>();
  const optimizer: string[] = [];
  for (const { name, role } of names) {
    if (model && role === "optimizer" && name.startsWith("optimizer_weights/")) {
      optimizer.push(name.slice("optimizer_weights/".length));
      continue;
    }
    const slash = name.indexOf("/");
    const layer = slash > 0 ? name.slice(0, slash) : name;
    if (!layers.has(layer)) layers.set(layer, []);
    layers.get(layer)!.push(name);
  }
  const layout: LegacyLayout = { model, layers: [...layers].map(([name, weights]) => ({ name, weights: inKerasOrder(weights) })) };
  if (optimizer.length > 0) layout.optimizer = optimizer;
  return layout;
}

/** MultiHeadAttention's sublayers in the order of its `weights` (what positional loading follows). */
const ATTENTION_PARTS = ["query", "key", "value", "attention_output"];
const ATTENTION_WEIGHT = /\/(query|key|value|attention_output)\/(kernel|bias)(:\d+)?$/;

/**
 * A layer's weights in the order Keras lists them. Names arrive in the source's order, which is
 * Keras' own except for attention layers mapped from torch (q, k, v kernels, then their biases):
 * Keras wants each sublayer's kernel and bias together.
 */
function inKerasOrder(weights: string[]): string[] {
  if (!weights.every((w) => ATTENTION_WEIGHT.test(w))) return weights;
  const rank = (w: string): number => {
    const [, part, kind] = ATTENTION_WEIGHT.exec(w)!;
    return ATTENTION_PARTS.indexOf(part!) * 2 + (kind === "bias" ? 1 : 0);
  };
  return [...weights].sort((a, b) => rank(a) - rank(b));
}
