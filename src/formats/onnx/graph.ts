import type { ByteSource } from "../../io/source.js";
import { type Tensor, makeTensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import type { Attribute, Dim, Graph, GraphNode, ValueInfo } from "../../graph/ir.js";
import { type AttributeProto, type GraphProto, type ModelProto, type ValueInfoProto, int64Of } from "./schema.js";
import { type TensorContext, decodeTensor } from "./tensor-proto.js";
import { densifySparse } from "./sparse.js";
import { dtypeFromOnnx, onnxTypeName } from "./dtypes.js";
import { parseModel } from "./read.js";

// An ONNX ModelProto as the neutral graph: every node with all its attributes, initializers as
// lazy checkpoint tensors (their bytes stay in the file until an emitter asks), If/Loop/Scan
// bodies as nested graphs. Nothing is interpreted here: the emitters decide what they cover.

/** AttributeProto.AttributeType ids. */
const ATTRIBUTE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8, sparseTensor: 11 } as const;

/** Reads an .onnx file's graph. */
export async function readOnnxGraph(source: ByteSource, options: { lazyWeights?: boolean } = {}): Promise<Graph> {
  const { model, context } = await parseModel(source, {}, options.lazyWeights ? 0 : Infinity);
  return graphOfModel(model, context);
}

export async function graphOfModel(model: ModelProto, context: TensorContext): Promise<Graph> {
  const domains: Record<string, number> = {};
  let opset: number | undefined;
  for (const entry of model.opset_import) {
    const version = Number(int64Of(entry.version));
    if (!entry.domain || entry.domain === "ai.onnx") opset = version;
    else domains[entry.domain] = version;
  }
  if (opset === undefined) throw new WeightbridgeError("unsupported", "the model imports no ai.onnx opset", { file: context.source.name });
  const graph = await graphOf(model.graph!, opset, context);
  return Object.keys(domains).length > 0 ? { ...graph, domains } : graph;
}

async function graphOf(proto: GraphProto, opset: number, context: TensorContext): Promise<Graph> {
  const initializers: Tensor[] = [];
  for (const t of proto.initializer) initializers.push(await tensorOf(t, t.name ?? "", context));
  for (const sparse of proto.sparse_initializer) {
    const dense = await densifySparse(sparse, context);
    if (typeof dense === "string") throw new WeightbridgeError("unsupported", `sparse initializer: ${dense}`, { file: context.source.name });
    initializers.push(dense.tensor);
  }
  const known = new Set(initializers.map((t) => t.name));
  const nodes: GraphNode[] = [];
  const names = new Set<string>();
  for (const [i, node] of proto.node.entries()) {
    const op = node.op_type ?? "";
    let name = node.name || `${op}_${i}`;
    while (names.has(name)) name = `${name}_${i}`;
    names.add(name);
    const attributes: Record<string, Attribute> = {};
    for (const a of node.attribute) attributes[a.name ?? ""] = await attributeOf(a, name, opset, context);
    nodes.push({ name, op, domain: node.domain ?? "", inputs: [...node.input], outputs: [...node.output], attributes, sourceLayer: node.name || undefined });
  }
  return {
    name: proto.name ?? "",
    opset,
    // Before IR version 4 initializers were graph inputs too; they are weights, not inputs.
    inputs: proto.input.filter((v) => !known.has(v.name ?? "")).map((v) => valueOf(v, context)),
    outputs: proto.output.map((v) => valueOf(v, context)),
    nodes,
    initializers,
    valueInfo: (proto as GraphProto & { value_info?: ValueInfoProto[] }).value_info?.flatMap((v) => (typed(v) ? [valueOf(v, context)] : [])),
  };
}

async function tensorOf(proto: Parameters<typeof decodeTensor>[0], name: string, context: TensorContext, role = "initializer"): Promise<Tensor> {
  const decoded = await decodeTensor(proto, name, context);
  if (typeof decoded === "string") throw new WeightbridgeError("unsupported", decoded, { tensor: name, file: context.source.name });
  return makeTensor(name, decoded.dtype, decoded.shape, decoded.data, { role });
}

function typed(v: ValueInfoProto): boolean {
  return v.type?.tensor_type?.elem_type !== undefined;
}

function valueOf(v: ValueInfoProto, context: TensorContext): ValueInfo {
  const name = v.name ?? "";
  const tensorType = v.type?.tensor_type;
  if (!tensorType)
    throw new WeightbridgeError("unsupported", `value '${name}' is not a tensor (sequence, map or optional types are not covered)`, {
      file: context.source.name,
    });
  const id = tensorType.elem_type ?? 0;
  const dtype = dtypeFromOnnx(id);
  if (!dtype)
    throw new WeightbridgeError("unsupported", `value '${name}' has element type ${onnxTypeName(id)}, which weightbridge has no dtype for`, {
      file: context.source.name,
    });
  if (!tensorType.shape) return { name, dtype };
  const shape: Dim[] = tensorType.shape.dim.map((d, k) =>
    d.dim_value !== undefined && Object.prototype.hasOwnProperty.call(d, "dim_value") ? Number(int64Of(d.dim_value)) : d.dim_param || `${name}_dim${k}`,
  );
  return { name, dtype, shape };
}

async function attributeOf(a: AttributeProto, node: string, opset: number, context: TensorContext): Promise<Attribute> {
  const where = `node '${node}' attribute '${a.name ?? ""}'`;
  switch (a.type) {
    case ATTRIBUTE.float:
      return { type: "float", value: a.f ?? 0 };
    case ATTRIBUTE.int:
      return { type: "int", value: safeInt(a.i, where) };
    case ATTRIBUTE.string:
      return { type: "string", value: new TextDecoder().decode(a.s ?? new Uint8Array(0)) };
    case ATTRIBUTE.tensor:
      return { type: "tensor", value: await tensorOf(a.t!, node, context, "constant") };
    case ATTRIBUTE.graph:
      return { type: "graph", value: await graphOf(a.g!, opset, context) };
    case ATTRIBUTE.floats:
      return { type: "floats", value: [...a.floats] };
    case ATTRIBUTE.ints:
      return { type: "ints", value: a.ints.map((i) => safeInt(i, where)) };
    case ATTRIBUTE.strings:
      return { type: "strings", value: ((a as AttributeProto & { strings?: Uint8Array[] }).strings ?? []).map((s) => new TextDecoder().decode(s)) };
    case ATTRIBUTE.sparseTensor: {
      const dense = await densifySparse(a.sparse_tensor!, context);
      if (typeof dense === "string") throw new WeightbridgeError("unsupported", `${where}: ${dense}`, { file: context.source.name });
      return { type: "tensor", value: { ...dense.tensor, role: "constant" } };
    }
    default:
      throw new WeightbridgeError("unsupported", `${where} has attribute type ${a.type ?? "(none)"}, which is not covered`, { file: context.source.name });
  }
}

/** int64 attributes as numbers; INT64_MAX/MIN (Slice's "to the end") clamp to ±2^53 and keep their meaning. */
function safeInt(value: Parameters<typeof int64Of>[0], where: string): number {
  const big = int64Of(value);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (big < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  if (typeof big !== "bigint") throw new WeightbridgeError("corrupt", `${where} is not an integer`);
  return Number(big);
}
