import type { ByteSource } from "../../io/source.js";
import type { Checkpoint, JsonObject, SkippedTensor } from "../../tensor/checkpoint.js";
import { type Tensor, makeTensor } from "../../tensor/tensor.js";
import { WeightbridgeError, isWeightbridgeError } from "../../errors.js";
import type { ReadOptions } from "../types.js";
import { type GraphProto, type ModelProto, type NodeProto, MAX_PROTOBUF_BYTES, decodeModel, int64Of } from "./schema.js";
import { type TensorContext, decodeTensor } from "./tensor-proto.js";
import { densifySparse } from "./sparse.js";
import { constantTensor } from "./constants.js";
import { modelSkeleton } from "./skeleton.js";
import { firstConsumers, isExporterMadeName, layerHints } from "./layers.js";
import { initializerAliases } from "./aliases.js";

export interface ParsedModel {
  model: ModelProto;
  /** The bytes decoded: the whole file, or its skeleton for a big file read by readOnnx. */
  bytes: Uint8Array;
  context: TensorContext;
}

/** Files bigger than this are read as a skeleton (./skeleton.ts) when the source allows positioned reads. */
const SKELETON_OVER = 64 << 20;

/**
 * Decodes the .onnx file (≤ 2 GiB by protobuf's own limit; big models keep their weights in side
 * files). raw_data tensors are referenced by byte range in `source`, so the checkpoint keeps no
 * file buffer alive; past `skeletonOver` bytes, large raw_data is not even read (the reweight
 * writer asks for the whole bytes instead, as it copies fields verbatim).
 */
export async function parseModel(source: ByteSource, options: ReadOptions = {}, skeletonOver = Infinity, minRawBytes?: number): Promise<ParsedModel> {
  if (source.size > MAX_PROTOBUF_BYTES) {
    throw new WeightbridgeError("corrupt", `${source.size} bytes is more than a protobuf message may hold (2 GiB)`, { file: source.name });
  }
  const readSync = source.readSync?.bind(source);
  if (readSync && source.size > skeletonOver) {
    const { bytes, rawRanges } = modelSkeleton({ ...source, name: source.name, size: source.size, readSync }, minRawBytes);
    const model = decodeModel(bytes, source.name);
    if (!model.graph) throw new WeightbridgeError("corrupt", "ONNX model has no graph", { file: source.name });
    model.graph.initializer.forEach((proto, i) => {
      const range = rawRanges[i];
      if (range) proto.rawRange = range;
    });
    // Small raw_data stays in the skeleton, whose offsets are not the file's: no range mapping.
    return { model, bytes, context: siblingContext(source, new Uint8Array(0), options) };
  }
  const bytes = await source.read(0, source.size);
  const model = decodeModel(bytes, source.name);
  if (!model.graph) throw new WeightbridgeError("corrupt", "ONNX model has no graph", { file: source.name });
  return { model, bytes, context: siblingContext(source, bytes, options) };
}

function siblingContext(source: ByteSource, bytes: Uint8Array, options: ReadOptions): TensorContext {
  const open = new Map<string, Promise<ByteSource>>();
  return {
    source,
    modelBytes: bytes,
    sibling(location, tensor) {
      let side = open.get(location);
      if (!side) {
        if (!source.sibling) {
          throw new WeightbridgeError("unsupported", `external data '${location}' needs the model opened from a file`, { file: source.name, tensor });
        }
        side = source.sibling(location).then((s) => {
          options.keep?.(s);
          return s;
        });
        open.set(location, side);
      }
      return side.catch((e) => {
        throw isWeightbridgeError(e) ? e.at({ tensor }) : e;
      });
    },
  };
}

export function readOnnx(source: ByteSource, options: ReadOptions): Promise<Checkpoint> {
  return readOnnxModel(source, options, SKELETON_OVER);
}

/** readOnnx with the size past which the file is read as a skeleton, and the raw_data size left out (tests use 0 and 1). */
export async function readOnnxModel(source: ByteSource, options: ReadOptions, skeletonOver: number, minRawBytes?: number): Promise<Checkpoint> {
  const { model, context } = await parseModel(source, options, skeletonOver, minRawBytes);
  const graph = model.graph!;
  const warnings: string[] = [];
  const skipped: SkippedTensor[] = [];
  const tensors: Tensor[] = [];
  const seen = new Set<string>();
  const skip = (name: string, why: string, what: string): void => {
    warnings.push(`${what} '${name}' skipped: ${why}`);
    skipped.push({ name, why });
  };
  // A subgraph's initializer may share a name with another graph's (a T5 export's encoder and
  // decoder bodies): each such one is scoped by where its graph sits and stays a tensor of its own.
  const graphs = [...graphsOf(graph)];
  const counts = new Map<string, number>();
  for (const [g] of graphs) for (const p of g.initializer) counts.set(p.name ?? "", (counts.get(p.name ?? "") ?? 0) + 1);
  const add = (tensor: Tensor, what: string, scope?: string): void => {
    const name = scope && (counts.get(tensor.name) ?? 0) > 1 ? `${scope}/${tensor.name}` : tensor.name;
    if (seen.has(name)) return skip(tensor.name, "repeats an earlier name", what);
    if (name !== tensor.name) warnings.push(`${what} '${tensor.name}' is a name other graphs use too: read as '${name}'`);
    seen.add(name);
    tensors.push(name === tensor.name ? tensor : { ...tensor, name });
  };

  // Initializers first (they get layer hints), subgraphs' too; then Constant outputs.
  for (const [g, depth, scope] of graphs) {
    const where = depth === 0 ? "initializer" : `initializer of subgraph '${g.name ?? ""}'`;
    for (const proto of g.initializer) {
      const name = proto.name ?? "";
      const decoded = await decodeTensor(proto, name, context);
      if (typeof decoded === "string") skip(name, decoded, where);
      else add(makeTensor(name, decoded.dtype, decoded.shape, decoded.data, { role: "initializer" }), where, scope);
    }
    for (const sparse of g.sparse_initializer) {
      const dense = await densifySparse(sparse, context);
      if (typeof dense === "string") skip(sparse.values?.name ?? "", dense, `sparse ${where}`);
      else {
        warnings.push(`sparse ${where} '${dense.tensor.name}' read as a dense tensor (${dense.nnz} stored values)`);
        add(dense.tensor, `sparse ${where}`, scope);
      }
    }
  }
  const inSubgraphs = graphs.slice(1).reduce((n, [g]) => n + g.initializer.length + g.sparse_initializer.length, 0);
  if (inSubgraphs > 0) warnings.push(`${inSubgraphs} initializer(s) come from subgraphs (If/Loop/Scan bodies)`);
  // Merged initializers: each Identity-made name is read as a weight of its own.
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const aliases = initializerAliases(graph.node, new Set(graph.initializer.map((p) => p.name ?? "")));
  for (const alias of aliases) {
    const of = byName.get(alias.initializer);
    if (of) add(makeTensor(alias.name, of.dtype, [...of.shape], of.data, { role: "initializer" }), "Identity output");
  }
  if (aliases.length > 0) {
    warnings.push(
      `${aliases.length} weight(s) are Identity nodes of another initializer (the exporter merged equal values): each is read as a tensor of its own`,
    );
  }
  const initializerCount = tensors.length;
  const nodes = graphs.flatMap(([g]) => g.node);
  for (const node of nodes) {
    if (node.op_type !== "Constant" || (node.domain && node.domain !== "ai.onnx")) continue;
    const constant = await constantTensor(node, context);
    if (typeof constant === "string") skip(node.output[0] ?? "", constant, "Constant output");
    else if (constant) add(constant, "Constant output");
  }

  annotate(tensors.slice(0, initializerCount), nodes, warnings);
  return { format: "onnx", tensors, meta: metaOf(model), ...(warnings.length ? { warnings } : {}), ...(skipped.length ? { skipped } : {}) };
}

/** The graph and every subgraph in its nodes' attributes, depth first, with their nesting depth. */
function* graphsOf(graph: GraphProto, depth = 0, scope?: string): Generator<[GraphProto, number, string | undefined]> {
  if (depth > MAX_SUBGRAPH_DEPTH) throw new WeightbridgeError("unsupported", `subgraphs nested deeper than ${MAX_SUBGRAPH_DEPTH} levels`);
  yield [graph, depth, scope];
  for (const node of graph.node) {
    for (const a of node.attribute) {
      // Where the subgraph sits: its node and attribute (`If_3/then_branch`), below its parent's.
      const at = `${scope ? `${scope}/` : ""}${node.name || node.op_type}/${a.name ?? ""}`;
      if (a.g) yield* graphsOf(a.g, depth + 1, at);
      for (const [i, g] of (a.graphs ?? []).entries()) yield* graphsOf(g, depth + 1, `${at}.${i}`);
    }
  }
}

const MAX_SUBGRAPH_DEPTH = 64;

/** Layer hints on initializers, and a warning for each exporter-made name. */
function annotate(initializers: Tensor[], nodes: NodeProto[], warnings: string[]): void {
  const shapes = new Map(initializers.map((t) => [t.name, t.shape]));
  const hints = layerHints(nodes, shapes);
  const consumers = firstConsumers(nodes);
  for (const tensor of initializers) {
    const hint = hints.get(tensor.name);
    if (hint) tensor.layer = hint;
    if (isExporterMadeName(tensor.name)) {
      const node = consumers.get(tensor.name);
      const user = node ? `node '${node.name || "(unnamed)"}' (${node.op_type})` : "no node";
      warnings.push(
        `initializer '${tensor.name}' has an exporter-made name (used by ${user}): it may be a fused or transposed derivative, not an original parameter`,
      );
    }
  }
}

function int64Json(value: Parameters<typeof int64Of>[0]): number | string {
  const big = int64Of(value);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big.toString();
}

function metaOf(model: ModelProto): JsonObject {
  const meta: JsonObject = { ir_version: int64Json(model.ir_version) };
  const opsets: JsonObject = {};
  for (const o of model.opset_import) opsets[o.domain || "ai.onnx"] = int64Json(o.version);
  meta.opset = opsets["ai.onnx"] ?? null;
  if (Object.keys(opsets).some((d) => d !== "ai.onnx")) meta.opset_import = opsets;
  meta.producer_name = model.producer_name ?? "";
  meta.producer_version = model.producer_version ?? "";
  meta.graph_name = model.graph?.name ?? "";
  if (model.domain) meta.domain = model.domain;
  if (model.model_version !== undefined && int64Of(model.model_version) !== 0n) meta.model_version = int64Json(model.model_version);
  if (model.doc_string) meta.doc_string = model.doc_string;
  if (model.metadata_props.length) {
    meta.metadata_props = Object.fromEntries(model.metadata_props.map((p) => [p.key ?? "", p.value ?? ""]));
  }
  return meta;
}
