import { WeightbridgeError } from "../../errors.js";
import type { ByteSource } from "../../io/source.js";
import type { SkippedTensor, Checkpoint, JsonObject, JsonValue } from "../../tensor/checkpoint.js";
import { makeTensor, type Tensor } from "../../tensor/tensor.js";
import { elementReader, hasNumericAccess } from "../../kernels/elements.js";
import { fromUtf8 } from "../../util/bytes.js";
import type { ReadOptions } from "../types.js";
import { readBundle, type Bundle, type BundleTensor } from "./bundle-read.js";
import { decodeProto, type KerasMetadata, type ObjectGraph, type SavedModelProto } from "./protos.js";
import { nameKeys, type NamedGraph, type NamedKey } from "./object-graph.js";
import { flattenedDenses, hintForNode, layerPositions, parseMetadata, type LayerMetadata } from "./keras-hints.js";
import { MODEL_CLASSES } from "../../keras/model-config.js";

export const OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH";
const SAVED_MODEL_DECODE_LIMIT = 256 << 20;

/** TF1 optimizer slot suffixes (tf.train.*Optimizer) and accumulators. */
const TF1_SLOT = /\/(Adam(_\d+)?|Momentum|Adagrad|RMSProp(_\d+)?|Ftrl(_\d+)?|Adadelta(_\d+)?|ExponentialMovingAverage)$|^(beta1_power|beta2_power)(_\d+)?$/;
const TF1_COUNTER = /^global_step$/;

async function openOptional(source: ByteSource, name: string): Promise<ByteSource | undefined> {
  if (!source.sibling) return undefined;
  try {
    return await source.sibling(name);
  } catch (e) {
    if (e instanceof WeightbridgeError && e.code === "io") return undefined;
    throw e;
  }
}

/** A small tensor's values as JSON (a number for 0-d), for meta. */
async function valueOf(t: BundleTensor): Promise<JsonValue> {
  const bytes = await t.data!.read();
  if (!t.dtype || !hasNumericAccess(t.dtype)) return `<${t.dtype}[${t.shape.join(", ")}]>`;
  const read = elementReader(t.dtype, bytes);
  const count = t.shape.reduce((a, b) => a * b, 1);
  const values: JsonValue[] = [];
  for (let i = 0; i < count; i++) {
    const v = read(i);
    values.push(Number.isFinite(v) ? v : String(v));
  }
  return t.shape.length === 0 ? values[0]! : values;
}

/** Keras layer metadata by object path: from keras_metadata.pb, else from saved_model.pb (TF 2.2-2.4). */
function layerMetadata(keras: KerasMetadata | undefined, savedModel: SavedModelProto | undefined): LayerMetadata {
  const out: LayerMetadata = new Map();
  if (keras) {
    for (const node of keras.nodes) {
      const meta = parseMetadata(node.metadata);
      if (!meta || !node.node_path) continue;
      const path = node.node_path
        .replace(/^root\.?/, "")
        .split(".")
        .join("/");
      if (!out.has(path)) out.set(path, meta);
    }
    return out;
  }
  const nodes = savedModel?.meta_graphs[0]?.object_graph_def?.nodes ?? [];
  const pathOf = new Map<number, string>([[0, ""]]);
  const queue = [0];
  while (queue.length > 0) {
    const id = queue.shift()!;
    const node = nodes[id];
    if (!node) continue;
    const meta = parseMetadata(node.user_object?.metadata);
    if (meta && !out.has(pathOf.get(id)!)) out.set(pathOf.get(id)!, meta);
    for (const child of node.children) {
      const to = child.node_id ?? 0;
      if (pathOf.has(to)) continue;
      const base = pathOf.get(id)!;
      pathOf.set(to, base === "" ? (child.local_name ?? "") : `${base}/${child.local_name ?? ""}`);
      queue.push(to);
    }
  }
  return out;
}

/** The root object's Keras model config (a Functional or Sequential model.save), as model.to_json() gives it. */
function rootModelConfig(metadata: LayerMetadata): JsonObject | undefined {
  const root = metadata.get("");
  if (typeof root?.class_name !== "string" || !MODEL_CLASSES.has(root.class_name) || !root.config) return undefined;
  return { class_name: root.class_name, config: root.config };
}

/**
 * The optimizer model.compile was given, from the root's training_config: its class (`Adamax`;
 * Keras >= 2.11 writes `Custom>Adam`) and its config (epsilon, momentum, nesterov ... which the
 * checkpoint does not hold).
 */
function compiledOptimizer(metadata: LayerMetadata): { className: string; config?: JsonObject } | undefined {
  const training = metadata.get("")?.training_config;
  if (!training || typeof training !== "object" || Array.isArray(training)) return undefined;
  const optimizer = training.optimizer_config;
  if (!optimizer || typeof optimizer !== "object" || Array.isArray(optimizer) || typeof optimizer.class_name !== "string") return undefined;
  const config = optimizer.config;
  return { className: optimizer.class_name.replace(/^Custom>/, ""), ...(config && typeof config === "object" && !Array.isArray(config) ? { config } : {}) };
}

function invertPaths(graph: NamedGraph): Map<number, string> {
  const out = new Map<number, string>();
  for (const [path, id] of graph.byPath) out.set(id, path);
  return out;
}

interface Extras {
  savedModel?: SavedModelProto;
  keras?: KerasMetadata;
}

/** SavedVariable names by object graph node id (Keras 3 exports and tf.Module saves key variables `variables/N`). */
function savedVariableNames(savedModel: SavedModelProto | undefined): Map<number, string> {
  const out = new Map<number, string>();
  savedModel?.meta_graphs[0]?.object_graph_def?.nodes.forEach((node, id) => {
    if (node.variable?.name) out.set(id, node.variable.name);
  });
  return out;
}

/**
 * Keys sharing one variable name whose bytes are identical are one variable tracked twice (a Keras 3
 * export lists every variable under `variables/` and `_all_variables/`): the first keeps the name,
 * the others are copies. Keys whose bytes differ keep their object paths.
 */
async function identicalCopies(bundle: Bundle, graph: NamedGraph | undefined): Promise<{ names: Map<string, string>; copies: Map<string, string> }> {
  const names = new Map<string, string>();
  const copies = new Map<string, string>();
  const groups = new Map<string, BundleTensor[]>();
  for (const t of bundle.tensors) {
    const shared = graph?.byKey.get(t.key)?.sharedName;
    if (shared !== undefined) groups.set(shared, [...(groups.get(shared) ?? []), t]);
  }
  for (const [name, group] of groups) {
    const [first, ...rest] = group;
    const bytes = await first!.data!.read();
    const same = async (t: BundleTensor) => t.dtype === first!.dtype && Buffer.from(await t.data!.read()).equals(Buffer.from(bytes));
    let all = true;
    for (const t of rest) all &&= await same(t);
    if (!all) continue;
    names.set(first!.key, name);
    for (const t of rest) copies.set(t.key, name);
  }
  return { names, copies };
}

/** The IR of a bundle: tensors named after their variables, counters and metrics in meta. */
async function bundleCheckpoint(bundle: Bundle, extras: Extras, file: string): Promise<Checkpoint> {
  const graphStrings = bundle.strings.get(OBJECT_GRAPH_KEY);
  const graphBytes = graphStrings && graphStrings.count > 0 ? graphStrings.element(0) : undefined;
  const graph = graphBytes
    ? nameKeys(decodeProto<ObjectGraph>("TrackableObjectGraph", graphBytes, { file, tensor: OBJECT_GRAPH_KEY }), savedVariableNames(extras.savedModel))
    : undefined;
  const metadata = layerMetadata(extras.keras, extras.savedModel);
  const pathOf = graph ? invertPaths(graph) : new Map<number, string>();
  const flattened = flattenedDenses(metadata);
  const positions = layerPositions(metadata);
  const tensors: Tensor[] = [];
  const keys: JsonObject = {};
  const optimizer: JsonObject = {};
  const metrics: JsonObject = {};
  const counters: JsonObject = {};
  const warnings: string[] = [];
  const duplicates = await identicalCopies(bundle, graph);
  const copies: SkippedTensor[] = [];
  for (const t of bundle.tensors) {
    const named: NamedKey | undefined = graph?.byKey.get(t.key);
    const kind = named?.kind ?? (TF1_COUNTER.test(t.key) ? "counter" : TF1_SLOT.test(t.key) ? "slot" : "variable");
    const copyOf = duplicates.copies.get(t.key);
    if (copyOf !== undefined) {
      const why = `an identical copy of ${copyOf} (the file tracks that variable twice)`;
      copies.push({ name: t.key.replace(/\/\.ATTRIBUTES\/VARIABLE_VALUE$/, ""), why, nonWeight: why });
      continue;
    }
    // TF1 slots (`dense/kernel/Adam`, `beta1_power`) are named under optimizer/ like TF2's; the
    // key itself stays in checkpoint_keys.
    const name = duplicates.names.get(t.key) ?? named?.name ?? (kind === "slot" ? `optimizer/${t.key}` : t.key);
    const small = t.shape.reduce((a, b) => a * b, 1) <= 16;
    if ((kind === "counter" || kind === "metric" || (kind === "optimizer" && small)) && small) {
      const into = kind === "counter" ? counters : kind === "metric" ? metrics : optimizer;
      into[kind === "optimizer" ? name.replace(/^optimizer\//, "") : name] = await valueOf(t);
      continue;
    }
    const extra: Partial<Tensor> = {};
    if (kind === "slot" || kind === "optimizer") extra.role = "optimizer";
    else {
      const hint = named && graph ? hintForNode(graph, pathOf, metadata, flattened, named.node, positions) : undefined;
      if (hint) extra.layer = hint;
    }
    tensors.push(makeTensor(name, t.dtype!, t.shape, t.data!, extra));
    if (name !== t.key) keys[name] = t.key;
  }
  const tensorflow: JsonObject = { bundle: { num_shards: bundle.header.num_shards ?? 0, object_graph: graph !== undefined } };
  if (Object.keys(keys).length > 0) tensorflow.checkpoint_keys = keys;
  if (Object.keys(optimizer).length > 0) tensorflow.optimizer = optimizer;
  const compiledWith = compiledOptimizer(metadata);
  if (compiledWith) tensorflow.optimizer_class = compiledWith.className;
  if (compiledWith?.config) tensorflow.optimizer_config = compiledWith.config;
  if (Object.keys(metrics).length > 0) tensorflow.metrics = metrics;
  Object.assign(tensorflow, counters);
  const strings: JsonObject = {};
  for (const [key, values] of bundle.strings) {
    if (key !== OBJECT_GRAPH_KEY) strings[key] = values.count === 1 ? fromUtf8(values.element(0)) : values.texts();
  }
  if (Object.keys(strings).length > 0) tensorflow.strings = strings;
  if (bundle.skipped.length > 0) {
    tensorflow.skipped = bundle.skipped.map((s) => `${s.key} (${s.type})`);
    warnings.push(`skipped ${bundle.skipped.length} entries that hold no tensor values (${[...new Set(bundle.skipped.map((s) => s.type))].join(", ")})`);
  }
  // Entries no output can carry are losses a conversion must list: strings live in meta only.
  const skipped: SkippedTensor[] = [
    ...copies,
    ...bundle.skipped.map((s) => ({ name: s.key, why: `a ${s.type} entry, whose values weightbridge does not read` })),
    ...Object.keys(strings).map((key) => ({ name: key, why: "a string tensor (kept as text in meta.tensorflow.strings; no output writes it back)" })),
  ];
  const checkpoint: Checkpoint = { tensors, meta: { tensorflow } };
  if (skipped.length > 0) checkpoint.skipped = skipped;
  const modelConfig = rootModelConfig(metadata);
  if (modelConfig) checkpoint.meta.model_config = modelConfig;
  if (warnings.length > 0) checkpoint.warnings = warnings;
  return checkpoint;
}

/** A TF checkpoint: `PREFIX.index` and its `PREFIX.data-*` shards beside it. */
export async function readCheckpoint(index: ByteSource, options: ReadOptions): Promise<Checkpoint> {
  const bundle = await readBundle(index, async (name) => {
    if (!index.sibling)
      throw new WeightbridgeError("unsupported", "a TensorFlow checkpoint's data shards must be files beside the .index", { file: index.name });
    return index.sibling(name);
  });
  for (const s of bundle.shards) options.keep?.(s);
  return bundleCheckpoint(bundle, {}, index.name);
}

/** A SavedModel: `saved_model.pb` with `variables/` and (TF >= 2.5) `keras_metadata.pb` beside it. */
export async function readSavedModel(pb: ByteSource, options: ReadOptions): Promise<Checkpoint> {
  const kerasSource = await openOptional(pb, "keras_metadata.pb");
  let keras: KerasMetadata | undefined;
  if (kerasSource) {
    try {
      keras = decodeProto<KerasMetadata>("SavedMetadata", await kerasSource.read(0, kerasSource.size), { file: kerasSource.name });
    } finally {
      await kerasSource.close();
    }
  }
  // saved_model.pb is decoded whole (only its object graph's metadata is kept), unless it is too
  // big to be worth it when keras_metadata.pb already gives the layers.
  let savedModel: SavedModelProto | undefined;
  if (!keras || pb.size <= SAVED_MODEL_DECODE_LIMIT) {
    savedModel = decodeProto<SavedModelProto>("SavedModel", await pb.read(0, pb.size), { file: pb.name });
    if (savedModel.meta_graphs.length === 0) throw new WeightbridgeError("corrupt", "saved_model.pb holds no MetaGraphDef", { file: pb.name });
  }
  const index = await openOptional(pb, "variables/variables.index");
  if (!index) {
    return { tensors: [], meta: { tensorflow: { bundle: null } }, warnings: ["the SavedModel has no variables/variables.index: it holds no variables"] };
  }
  options.keep?.(index);
  const bundle = await readBundle(index, (name) => index.sibling!(name));
  for (const s of bundle.shards) options.keep?.(s);
  const extras: Extras = {};
  if (savedModel) extras.savedModel = savedModel;
  if (keras) extras.keras = keras;
  return bundleCheckpoint(bundle, extras, index.name);
}
