import type { LayerHint, Tensor } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";
import { KERAS_LAYER_KINDS } from "../../keras/layer-kinds.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { flattenAttributes, flattenFindings, type FlattenFinding } from "../../keras/flatten-evidence.js";
import { floatKerasClass } from "../../keras/quantized-layers.js";
import { simpleAttributes } from "../../keras/model-config.js";
import { listLayers, type ListedLayer } from "../../keras/config-graph.js";

/** One layer's entry in a model config. */
export interface LayerConfig {
  className: string;
  config: Record<string, JsonValue>;
  /** A Dense reading a Flatten: of a channels-last map of this many channels, or of one an unknown layer changed (from the config's layer graph). */
  flattened?: FlattenFinding;
}

function asObject(v: JsonValue | undefined): Record<string, JsonValue> | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

export interface LayerIndex {
  /** Top-level layers by name. */
  top: Map<string, LayerConfig>;
  /** Sub-layers of nested models by name: `outer` → `inner` → config. */
  nested: Map<string, Map<string, LayerConfig>>;
  /** Every layer anywhere by name (first wins). */
  all: Map<string, LayerConfig>;
}

/** A listed layer's name, when it and every nested model above it have one (unnamed ones are not indexed). */
function nameOf(layer: ListedLayer): string | undefined {
  const name = layer.config.name;
  return typeof name === "string" && (!layer.parent || nameOf(layer.parent) !== undefined) ? name : undefined;
}

/** Indexes the layers of a Keras model config (`{class_name, config}`) by name. */
export function indexLayers(modelConfig: JsonValue | undefined): LayerIndex {
  const index: LayerIndex = { top: new Map(), nested: new Map(), all: new Map() };
  const flattened = flattenFindings(modelConfig);
  const inners = new Map<ListedLayer, Map<string, LayerConfig>>();
  for (const listed of listLayers(modelConfig)) {
    const name = nameOf(listed);
    if (name === undefined) continue;
    const layer: LayerConfig = { className: listed.className, config: listed.config };
    const finding = flattened.get(name);
    if (finding !== undefined) layer.flattened = finding;
    let into = index.top;
    if (listed.parent) {
      into = inners.get(listed.parent) ?? new Map();
      if (!inners.has(listed.parent)) {
        inners.set(listed.parent, into);
        index.nested.set(nameOf(listed.parent)!, into);
      }
    }
    if (!into.has(name)) into.set(name, layer);
    if (!index.all.has(name)) index.all.set(name, layer);
  }
  return index;
}

/** The hint for a layer config; wrappers (Bidirectional, TimeDistributed) describe their inner layer. */
export function hintFor(layer: LayerConfig | undefined, path: string): LayerHint {
  const hint: LayerHint = { framework: "keras", path };
  if (!layer) return hint;
  hint.className = layer.className;
  let kindSource = layer;
  const attributes = simpleAttributes(layer.config);
  const inner = asObject(layer.config.layer);
  const wrapper = floatKerasClass(layer.className);
  if ((wrapper === "Bidirectional" || wrapper === "TimeDistributed") && inner && typeof inner.class_name === "string") {
    kindSource = { className: inner.class_name, config: asObject(inner.config) ?? {} };
    attributes.wrapped = inner.class_name;
    Object.assign(attributes, simpleAttributes(kindSource.config), { name: layer.config.name });
  }
  const kind = KERAS_LAYER_KINDS[kindSource.className];
  if (kind) hint.kind = kind;
  // The spatial size follows from the kernel's rows (rows = channels × spatial positions).
  Object.assign(attributes, flattenAttributes(layer.flattened));
  hint.attributes = attributes;
  return hint;
}

/** Keras' to_snake_case, used for object-path names (`Conv2DTranspose` → `conv2d_transpose`). */
export function snakeCase(className: string): string {
  return className
    .replace(/(.)([A-Z][a-z]+)/g, "$1_$2")
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

const SNAKE_KINDS = new Map(Object.entries(KERAS_LAYER_KINDS).map(([cls, kind]) => [snakeCase(cls), kind]));

/** The kind an object-path component names (`conv2d_3` → conv2d), when it is a known layer class. */
export function kindFromSnakeName(name: string): LayerKind | undefined {
  return SNAKE_KINDS.get(name) ?? SNAKE_KINDS.get(name.replace(/_\d+$/, ""));
}

/**
 * Hints from a model config the weight file lacks (`save_weights` writes none; `model.to_json()`
 * is the config): each tensor's layer, found by its hint path (`layer` or `outer/inner`).
 */
export function hintWithModelConfig(tensors: readonly Tensor[], modelConfig: JsonValue): Tensor[] {
  const index = indexLayers(modelConfig);
  return tensors.map((t) => {
    const path = t.layer?.framework === "keras" ? t.layer.path : undefined;
    if (path === undefined || t.role) return t;
    const [outer, inner] = path.split("/");
    const layer = (inner !== undefined ? index.nested.get(outer!)?.get(inner) : undefined) ?? index.top.get(outer!) ?? index.all.get(path);
    return layer ? { ...t, layer: hintFor(layer, path) } : t;
  });
}
