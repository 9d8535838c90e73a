import type { LayerHint, Tensor } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";
import { KERAS_LAYER_KINDS } from "../../keras/layer-kinds.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { flattenAttributes, flattenFindings, type FlattenFinding } from "../../keras/flatten-evidence.js";
import { floatKerasClass } from "../../keras/quantized-layers.js";
import { MODEL_CLASSES, simpleAttributes } from "../../keras/model-config.js";

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

/** The layer list of a (Sequential / Functional / Model) config: Keras 2.2 Sequential is a bare list. */
function layerList(config: JsonValue | undefined): JsonValue[] {
  if (Array.isArray(config)) return config;
  const layers = asObject(config)?.layers;
  return Array.isArray(layers) ? layers : [];
}

export interface LayerIndex {
  /** Top-level layers by name. */
  top: Map<string, LayerConfig>;
  /** Sub-layers of nested models by name: `outer` → `inner` → config. */
  nested: Map<string, Map<string, LayerConfig>>;
  /** Every layer anywhere by name (first wins). */
  all: Map<string, LayerConfig>;
}

function entriesOf(list: JsonValue[]): LayerConfig[] {
  const out: LayerConfig[] = [];
  for (const item of list) {
    const o = asObject(item);
    const className = o?.class_name;
    const raw = o?.config;
    const config = Array.isArray(raw) ? { layers: raw } : asObject(raw);
    if (typeof className === "string" && config) out.push({ className, config });
  }
  return out;
}

/** Indexes the layers of a Keras model config (`{class_name, config}`) by name. */
export function indexLayers(modelConfig: JsonValue | undefined): LayerIndex {
  const index: LayerIndex = { top: new Map(), nested: new Map(), all: new Map() };
  const root = asObject(modelConfig);
  const flattened = flattenFindings(modelConfig);
  const visit = (list: JsonValue[], into: Map<string, LayerConfig>, depth: number): void => {
    for (const layer of entriesOf(list)) {
      const name = layer.config.name;
      if (typeof name !== "string") continue;
      const finding = flattened.get(name);
      if (finding !== undefined) layer.flattened = finding;
      if (!into.has(name)) into.set(name, layer);
      if (!index.all.has(name)) index.all.set(name, layer);
      if (MODEL_CLASSES.has(layer.className) && depth < 32) {
        const inner = new Map<string, LayerConfig>();
        index.nested.set(name, inner);
        visit(layerList(layer.config), inner, depth + 1);
      }
    }
  };
  visit(layerList(root?.config), index.top, 0);
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
