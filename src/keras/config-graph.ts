import type { JsonValue } from "../tensor/checkpoint.js";
import { MODEL_CLASSES } from "./model-config.js";

// The one reader of Keras model configs (model.save's model_config, a .keras config.json,
// keras_metadata.pb's root object, model.to_json()): Sequential chains (with or without an
// InputLayer), Functional graphs in Keras 2 (`inbound_nodes` lists) and Keras 3
// (`__keras_tensor__` histories), nested models inlined, shared layers (one layer, several
// calls), several inputs and outputs. The result is a list of layer calls in an order where each
// call's inputs are computed before it; values are named after the call that makes them.

type Obj = Record<string, JsonValue>;

/** A model config this reader cannot follow (message names the layer). */
export class KerasConfigError extends Error {
  constructor(
    message: string,
    readonly layer?: string,
  ) {
    super(message);
    this.name = "KerasConfigError";
  }
}

export interface KerasLayer {
  /** The layer's own name (weights are stored under it). */
  name: string;
  className: string;
  config: Obj;
}

export interface KerasCall {
  /** Unique among calls: the layer name for its first call, `name_N` for a later one. */
  id: string;
  layer: KerasLayer;
  /** Positional input values, in order (a merge layer's list flattened). */
  inputs: string[];
  /** Keyword tensors (MultiHeadAttention's value/key, a mask). */
  keywordInputs: Record<string, string>;
  /** Non-tensor keyword arguments of the call (training, axis of a TFOpLambda ...). */
  keywords: Obj;
  outputs: string[];
}

export interface KerasInput {
  name: string;
  /** Batch first; null where the model leaves a dimension open. Undefined only with `inputShapes: "optional"`. */
  shape: Array<number | null>;
  dtype: string;
}

export interface KerasModelGraph {
  name: string;
  className: string;
  inputs: KerasInput[];
  calls: KerasCall[];
  outputs: string[];
}

function obj(v: JsonValue | undefined): Obj | undefined {
  return v !== null && v !== undefined && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

function layersOf(model: Obj): { config: Obj; layers: Obj[] } {
  const raw = model.config;
  const config = Array.isArray(raw) ? { layers: raw } : (obj(raw) ?? {});
  const layers = Array.isArray(config.layers) ? config.layers.map(obj).filter((l): l is Obj => l !== undefined) : [];
  return { config, layers };
}

function layerName(layer: Obj): string {
  const name = obj(layer.config)?.name ?? layer.name;
  if (typeof name !== "string" || !name) throw new KerasConfigError("a layer of the model config has no name");
  return name;
}

function dtypeName(v: JsonValue | undefined): string {
  if (typeof v === "string") return v;
  const policy = obj(obj(v)?.config)?.name;
  return typeof policy === "string" ? policy.replace(/^mixed_/, "") : "float32";
}

/** A layer's declared batch input shape (InputLayer, or the first layer of a Sequential). */
function declaredShape(config: Obj): Array<number | null> | undefined {
  const s = config.batch_input_shape ?? config.batch_shape;
  if (Array.isArray(s) && s.every((d) => d === null || typeof d === "number")) return s as Array<number | null>;
  const input = config.input_shape ?? config.shape;
  if (Array.isArray(input) && input.every((d) => d === null || typeof d === "number")) return [null, ...(input as Array<number | null>)];
  return undefined;
}

/** (layer, node index, tensor index) references of a model's input_layers / output_layers. */
function endpoints(v: JsonValue | undefined): Array<[string, number, number]> {
  if (!Array.isArray(v)) return [];
  if (typeof v[0] === "string") return [[v[0], Number(v[1] ?? 0), Number(v[2] ?? 0)]];
  return v.flatMap((x) => (Array.isArray(x) && typeof x[0] === "string" ? [[x[0], Number(x[1] ?? 0), Number(x[2] ?? 0)] as [string, number, number]] : []));
}

type Ref = [string, number, number];

function asRef(v: JsonValue | undefined): Ref | undefined {
  if (Array.isArray(v) && typeof v[0] === "string" && typeof v[1] === "number" && typeof v[2] === "number") return [v[0], v[1], v[2]];
  const o = obj(v);
  const history = obj(o?.config)?.keras_history;
  if (o?.class_name === "__keras_tensor__" && Array.isArray(history)) return asRef(history);
  return undefined;
}

function refsIn(v: JsonValue | undefined, depth = 0): Ref[] {
  const ref = asRef(v);
  if (ref) return [ref];
  if (depth > 8 || v === null || v === undefined || typeof v !== "object") return [];
  return (Array.isArray(v) ? v : Object.values(v)).flatMap((x) => refsIn(x, depth + 1));
}

interface ParsedCall {
  positional: Ref[];
  keywordRefs: Record<string, Ref>;
  keywords: Obj;
}

/** One inbound node: Keras 2 `[["conv", 0, 0, {kwargs}], ...]` or Keras 3 `{args, kwargs}`. */
function parseInbound(node: JsonValue, layer: string): ParsedCall {
  const keywordRefs: Record<string, Ref> = {};
  const keywords: Obj = {};
  const takeKeywords = (kwargs: JsonValue | undefined) => {
    for (const [k, v] of Object.entries(obj(kwargs) ?? {})) {
      const ref = asRef(v);
      if (ref) keywordRefs[k] = ref;
      else if (refsIn(v).length === 0) keywords[k] = v;
      else throw new KerasConfigError(`layer ${layer} takes a nested structure of tensors as keyword ${k}`, layer);
    }
  };
  const o = obj(node);
  if (o) {
    takeKeywords(o.kwargs);
    return { positional: refsIn(o.args ?? []), keywordRefs, keywords };
  }
  if (!Array.isArray(node)) throw new KerasConfigError(`cannot read the inputs of layer ${layer} from the model config`, layer);
  const positional: Ref[] = [];
  for (const entry of node) {
    const ref = asRef(Array.isArray(entry) ? entry.slice(0, 3) : entry);
    if (!ref) throw new KerasConfigError(`cannot read the inputs of layer ${layer} from the model config`, layer);
    positional.push(ref);
    if (Array.isArray(entry)) takeKeywords(entry[3]);
  }
  return { positional, keywordRefs, keywords };
}

/** Builds the call list; nested models are inlined under the names of their own layers. */
class Builder {
  readonly calls: KerasCall[] = [];
  constructor(private readonly shapesOptional: boolean) {}
  private readonly ids = new Set<string>();
  private readonly callCount = new Map<string, number>();

  uniqueId(name: string): string {
    const n = this.callCount.get(name) ?? 0;
    this.callCount.set(name, n + 1);
    let id = n === 0 ? name : `${name}_${n}`;
    while (this.ids.has(id)) id = `${id}_`;
    this.ids.add(id);
    return id;
  }

  /** A (leaf) layer call; returns its output value names. */
  leaf(layer: KerasLayer, inputs: string[], keywordInputs: Record<string, string>, keywords: Obj): string[] {
    if (MODEL_CLASSES.has(layer.className)) throw new Error("models are inlined, not called");
    const id = this.uniqueId(layer.name);
    const outputs = [id];
    this.calls.push({ id, layer, inputs, keywordInputs, keywords, outputs });
    return outputs;
  }

  /** Calls a layer entry of a model config: a leaf layer, or a nested model inlined. */
  call(entry: Obj, inputs: string[], keywordInputs: Record<string, string>, keywords: Obj, depth: number): string[] {
    const className = entry.class_name;
    const name = layerName(entry);
    if (typeof className !== "string") throw new KerasConfigError(`layer ${name} has no class name`, name);
    if (MODEL_CLASSES.has(className)) {
      if (depth > 32) throw new KerasConfigError(`layer ${name}: models nested too deep`, name);
      return this.model(entry, inputs, depth + 1).outputs;
    }
    return this.leaf({ name, className, config: obj(entry.config) ?? {} }, inputs, keywordInputs, keywords);
  }

  /** A model (top level when `bound` is undefined, else inlined on those inputs). */
  model(entry: Obj, bound: string[] | undefined, depth: number): { inputs: KerasInput[]; outputs: string[] } {
    const className = entry.class_name;
    if (className === "Sequential") return this.sequential(entry, bound, depth);
    return this.functional(entry, bound, depth);
  }

  private sequential(entry: Obj, bound: string[] | undefined, depth: number): { inputs: KerasInput[]; outputs: string[] } {
    const { config, layers } = layersOf(entry);
    const inputs: KerasInput[] = [];
    let previous: string | undefined = bound?.[0];
    if (bound && bound.length !== 1) throw new KerasConfigError(`the nested Sequential ${layerName(entry)} is called on ${bound.length} tensors`);
    for (const layer of layers) {
      const cfg = obj(layer.config) ?? {};
      const name = layerName(layer);
      if (previous === undefined) {
        const build = config.build_input_shape;
        const shape = declaredShape(cfg) ?? (Array.isArray(build) ? (build as Array<number | null>) : undefined);
        if (!shape && !this.shapesOptional)
          throw new KerasConfigError(`the Sequential model states no input shape (layer ${name} has no batch_input_shape)`, name);
        const inputName = layer.class_name === "InputLayer" ? name : `${name}_input`;
        inputs.push({ name: inputName, shape: shape!, dtype: dtypeName(cfg.dtype) });
        previous = inputName;
        this.ids.add(inputName);
        if (layer.class_name === "InputLayer") continue;
      } else if (layer.class_name === "InputLayer") continue;
      const out = this.call(layer, [previous], {}, {}, depth);
      if (out.length !== 1) throw new KerasConfigError(`layer ${name} of a Sequential model gives ${out.length} outputs`, name);
      previous = out[0]!;
    }
    if (previous === undefined) throw new KerasConfigError("the Sequential model has no layers");
    return { inputs, outputs: [previous] };
  }

  private functional(entry: Obj, bound: string[] | undefined, depth: number): { inputs: KerasInput[]; outputs: string[] } {
    const { config, layers } = layersOf(entry);
    const model = typeof config.name === "string" ? config.name : "the model";
    const byName = new Map<string, Obj>();
    for (const layer of layers) byName.set(layerName(layer), layer);
    // (layer, node index) → output values, filled as calls are made.
    const made = new Map<string, string[]>();
    const key = (layer: string, node: number) => `${layer}\u0000${node}`;
    const declaredInputs = endpoints(config.input_layers);
    const inputs: KerasInput[] = [];
    const inputLayers = layers.filter((l) => l.class_name === "InputLayer");
    const ordered = declaredInputs.length ? declaredInputs.map(([n]) => n) : inputLayers.map(layerName);
    if (bound && bound.length !== ordered.length)
      throw new KerasConfigError(`the nested model ${model} takes ${ordered.length} inputs, it is called on ${bound.length}`);
    ordered.forEach((name, i) => {
      const layer = byName.get(name);
      if (layer?.class_name !== "InputLayer") throw new KerasConfigError(`${model} names ${name} as an input, which is no InputLayer of it`, name);
      if (bound) {
        made.set(key(name, 0), [bound[i]!]);
        return;
      }
      const cfg = obj(layer.config) ?? {};
      const shape = declaredShape(cfg);
      if (!shape && !this.shapesOptional) throw new KerasConfigError(`input ${name} states no shape`, name);
      inputs.push({ name, shape: shape!, dtype: dtypeName(cfg.dtype) });
      this.ids.add(name);
      made.set(key(name, 0), [name]);
    });
    // Nested models count a node of their own making first (Keras' _should_skip_first_node):
    // references to them may be one past their inbound node list.
    const referenced = new Map<string, number>();
    const notice = (r: Ref) => referenced.set(r[0], Math.max(referenced.get(r[0]) ?? -1, r[1]));
    const pending: Array<{ layer: Obj; name: string; node: number; call: ParsedCall }> = [];
    for (const layer of layers) {
      if (layer.class_name === "InputLayer") continue;
      const name = layerName(layer);
      const inbound = Array.isArray(layer.inbound_nodes) ? layer.inbound_nodes : [];
      inbound.forEach((node, i) => {
        const call = parseInbound(node, name);
        call.positional.forEach(notice);
        Object.values(call.keywordRefs).forEach(notice);
        pending.push({ layer, name, node: i, call });
      });
    }
    for (const [name, maxNode] of endpoints(config.output_layers).map(([n, k]) => [n, k] as const))
      referenced.set(name, Math.max(referenced.get(name) ?? -1, maxNode));
    const offset = (name: string): number => {
      const layer = byName.get(name);
      const count = Array.isArray(layer?.inbound_nodes) ? layer.inbound_nodes.length : 0;
      return layer && MODEL_CLASSES.has(String(layer.class_name)) && (referenced.get(name) ?? -1) >= count ? 1 : 0;
    };
    const value = (r: Ref): string | undefined => {
      const node = byName.get(r[0])?.class_name === "InputLayer" ? r[1] : r[1] - offset(r[0]);
      const outs = made.get(key(r[0], node));
      // A later output of a layer call (an RNN's states with return_state): named when first referenced.
      if (outs && r[2] >= outs.length && this.calls.some((c) => c.outputs === outs)) for (let k = outs.length; k <= r[2]; k++) outs.push(`${outs[0]}:${k}`);
      return outs?.[r[2]];
    };
    // Shared layers may be called in an order other than the layer list's: resolve until stuck.
    while (pending.length) {
      const before = pending.length;
      for (let i = 0; i < pending.length; i++) {
        const p = pending[i]!;
        const positional = p.call.positional.map(value);
        const keywordEntries = Object.entries(p.call.keywordRefs).map(([k, r]) => [k, value(r)] as const);
        if (positional.some((v) => v === undefined) || keywordEntries.some(([, v]) => v === undefined)) continue;
        const outputs = this.call(p.layer, positional as string[], Object.fromEntries(keywordEntries) as Record<string, string>, p.call.keywords, depth);
        made.set(key(p.name, p.node), outputs);
        pending.splice(i--, 1);
      }
      if (pending.length === before) {
        const stuck = pending[0]!;
        const missing = [...stuck.call.positional, ...Object.values(stuck.call.keywordRefs)].find((r) => value(r) === undefined)!;
        throw new KerasConfigError(`layer ${stuck.name} takes ${missing[0]} (call ${missing[1]}), which the model config never computes`, stuck.name);
      }
    }
    const outputs = endpoints(config.output_layers).map((r) => {
      const v = value(r);
      if (v === undefined) throw new KerasConfigError(`${model}'s output ${r[0]} is not computed by its layers`, r[0]);
      return v;
    });
    if (!outputs.length) throw new KerasConfigError(`${model} names no outputs`);
    return { inputs, outputs };
  }
}

export interface ListedLayer {
  className: string;
  /** The layer's config (a Keras 2.2 nested Sequential's bare layer list as `{layers}`). */
  config: Obj;
  /** The nested model entry that lists this layer; undefined at the top level. */
  parent?: ListedLayer;
  /** Whether the entry has inbound_nodes (the listing of a Functional model). */
  hasInboundNodes: boolean;
}

/**
 * Every layer entry a model config (`{class_name, config}`) lists, in its order, each nested
 * model's entries right after it (`nested: false` lists the top level only). A tolerant listing
 * for readers that need the layers, not the call graph: entries without a class name or config
 * are left out, and nothing the graph alone needs (names, inputs, shapes) is asked for.
 */
export function* listLayers(modelConfig: JsonValue | undefined, options: { nested?: boolean } = {}): Generator<ListedLayer> {
  function* visit(entry: JsonValue | undefined, parent: ListedLayer | undefined, depth: number): Generator<ListedLayer> {
    for (const item of layersOf(obj(entry) ?? {}).layers) {
      const raw = item.config;
      const config = Array.isArray(raw) ? { layers: raw } : obj(raw);
      if (typeof item.class_name !== "string" || !config) continue;
      const layer: ListedLayer = { className: item.class_name, config, hasInboundNodes: item.inbound_nodes !== undefined };
      if (parent) layer.parent = parent;
      yield layer;
      if (options.nested !== false && MODEL_CLASSES.has(layer.className) && depth < 32) yield* visit(item, layer, depth + 1);
    }
  }
  yield* visit(modelConfig, undefined, 0);
}

/** keras_metadata.pb spells tuples `{"class_name": "__tuple__", "items": [...]}`: plain lists here. */
export function withPlainTuples(v: JsonValue | undefined, depth = 0): JsonValue | undefined {
  if (v === null || v === undefined || typeof v !== "object" || depth > 64) return v;
  if (Array.isArray(v)) return v.map((x) => withPlainTuples(x, depth + 1)!);
  if (v.class_name === "__tuple__" && Array.isArray(v.items)) return v.items.map((x) => withPlainTuples(x, depth + 1)!);
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) out[k] = withPlainTuples(x, depth + 1)!;
  return out;
}

/**
 * The call graph of a Keras model config; KerasConfigError when it cannot be followed.
 * `inputShapes: "optional"` reads a model whose inputs state no shape (their shape is then
 * undefined), for walks that need only the connections.
 */
export function readKerasModel(modelConfig: JsonValue | undefined, options: { inputShapes?: "required" | "optional" } = {}): KerasModelGraph {
  const root = obj(withPlainTuples(modelConfig));
  const className = root?.class_name;
  if (typeof className !== "string") throw new KerasConfigError("the source holds no Keras model config (a save_weights file)");
  if (!MODEL_CLASSES.has(className)) {
    throw new KerasConfigError(`the model is a subclassed ${className}: its call() is not in the file (it is Python code)`, className);
  }
  const builder = new Builder(options.inputShapes === "optional");
  const { inputs, outputs } = builder.model(root!, undefined, 0);
  if (!inputs.length) throw new KerasConfigError("the model config names no inputs");
  const name = obj(root!.config)?.name;
  return { name: typeof name === "string" ? name : "model", className, inputs, calls: builder.calls, outputs };
}
