import { parseModelJson } from "../../util/json.js";
import type { LayerHint } from "../../tensor/tensor.js";
import { KERAS_LAYER_KINDS } from "../../keras/layer-kinds.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import type { NamedGraph } from "./object-graph.js";
import { flattenAttributes, flattenFindings, type FlattenFinding } from "../../keras/flatten-evidence.js";
import { floatKerasClass } from "../../keras/quantized-layers.js";
import { KerasConfigError, readKerasModel, type KerasModelGraph } from "../../keras/config-graph.js";
import { MODEL_CLASSES, simpleAttributes } from "../../keras/model-config.js";

/** A Keras object's metadata JSON (`{"class_name", "name", "config"}`), by object path. */
export type LayerMetadata = Map<string, Record<string, JsonValue>>;

/** Keras writes Python's json (NaN, Infinity); those become null here. */
export function parseMetadata(text: string | undefined): Record<string, JsonValue> | undefined {
  if (!text) return undefined;
  for (const candidate of [text, text.replace(/-?\bInfinity\b|\bNaN\b/g, "null")]) {
    try {
      const value = parseModelJson(candidate, "keras_metadata") as JsonValue;
      if (value && typeof value === "object" && !Array.isArray(value)) return value;
      return undefined;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

/**
 * Dense layers that read a Flatten of a channels-last feature map (name → channels, or the unknown layer in between), from the
 * config of every model object in the metadata (the root and nested models).
 */
export function flattenedDenses(metadata: LayerMetadata): Map<string, FlattenFinding> {
  const out = new Map<string, FlattenFinding>();
  for (const meta of metadata.values()) {
    if (typeof meta.class_name !== "string" || !MODEL_CLASSES.has(meta.class_name)) continue;
    for (const [name, finding] of flattenFindings(meta)) if (!out.has(name)) out.set(name, finding);
  }
  return out;
}

/**
 * Each layer's position in the model, by layer name: the order of the models' call graphs (a
 * nested model's layers in its place), which is the order the model computes in and a torch port
 * would register its modules in (the bundle itself lists variables by sorted key).
 */
export function layerPositions(metadata: LayerMetadata): Map<string, number> {
  const out = new Map<string, number>();
  const add = (name: string) => out.has(name) || out.set(name, out.size);
  for (const meta of metadata.values()) {
    if (typeof meta.class_name !== "string" || !MODEL_CLASSES.has(meta.class_name)) continue;
    let graph: KerasModelGraph;
    try {
      graph = readKerasModel(meta, { inputShapes: "optional" });
    } catch (e) {
      if (e instanceof KerasConfigError) continue;
      throw e;
    }
    for (const input of graph.inputs) add(input.name);
    for (const call of graph.calls) add(call.layer.name);
  }
  return out;
}

/**
 * The layer hint of the variable at `node`: the nearest owning object whose Keras metadata names
 * a layer class with a kind (an LSTM for `lstm/lstm_cell/kernel`, past its cell).
 */
export function hintForNode(
  graph: NamedGraph,
  pathOf: Map<number, string>,
  metadata: LayerMetadata,
  flattened: Map<string, FlattenFinding>,
  node: number,
  positions?: Map<string, number>,
): LayerHint | undefined {
  let at = graph.parent.get(node)?.node;
  let fallback: LayerHint | undefined;
  let found: LayerHint | undefined;
  for (let guard = 0; at !== undefined && guard < 10000; guard++) {
    const meta = metadata.get(pathOf.get(at) ?? "");
    const className = typeof meta?.class_name === "string" ? meta.class_name : undefined;
    if (meta && className) {
      const config = meta.config && typeof meta.config === "object" && !Array.isArray(meta.config) ? meta.config : {};
      const name = typeof meta.name === "string" ? meta.name : typeof config.name === "string" ? config.name : (pathOf.get(at) ?? "");
      // The RNN inside a Bidirectional is one direction of the wrapper's layer: the two are checked
      // and mapped together, as one bidirectional torch/ONNX layer.
      if (found) return className === "Bidirectional" ? bidirectionalHint(found, name, config) : found;
      const attributes = simpleAttributes(config);
      if (floatKerasClass(className) === "Dense") Object.assign(attributes, flattenAttributes(flattened.get(name)));
      const position = positions?.get(name);
      if (position !== undefined) attributes.position = position;
      const hint: LayerHint = { framework: "keras", path: name, className, attributes };
      const kind = KERAS_LAYER_KINDS[className];
      if (kind) found = { ...hint, kind };
      else fallback ??= hint;
    }
    at = graph.parent.get(at)?.node;
  }
  return found ?? fallback;
}

function bidirectionalHint(inner: LayerHint, path: string, config: Record<string, JsonValue>): LayerHint {
  const attributes: Record<string, JsonValue> = { ...inner.attributes, bidirectional: true };
  if (typeof config.merge_mode === "string") attributes.merge_mode = config.merge_mode;
  return { ...inner, path, attributes };
}
