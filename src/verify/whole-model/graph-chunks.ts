import type * as Ort from "onnxruntime-node";
import type { DType } from "../../tensor/dtype.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Graph, GraphNode, ValueInfo } from "../../graph/ir.js";
import type { OnnxRuntime } from "./runtime.js";
import { NotCheckable } from "../params.js";
import { giveScratch, takeScratch } from "../../util/scratch.js";
import { SYMBOLIC_SIZE, type GraphInput, type GraphOutput } from "./onnx-run.js";

// A written ONNX graph run in consecutive pieces: its nodes in file order cut where the weights
// they read pass a budget, each piece (its nodes, its own initializers, the values it takes and
// gives) run in its own onnxruntime session and released before the next. The outputs are the
// whole graph's outputs bit for bit, as every node runs once on what it would see in one session;
// only one piece's weights are in memory at a time, not the whole model's. The weights go in as
// the piece's inputs (their bytes read from the written file), so the piece's own model is small.

/** Weight bytes one piece reads, at most (a single node with more is a piece of its own). */
export const CHUNK_BYTES = 64 * 2 ** 20;

/** Encodes a graph as an ONNX model (the caller's writer: verify knows no format). */
export type EncodeGraph = (graph: Graph) => Promise<Uint8Array>;

const ONNX_TYPES: Record<number, DType> = { 1: "float32", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64" };
const BOOL_OPS = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"]);
const INT64_OPS = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin"]);

/** Each node output's dtype, from the ops' typing rules (what a piece's outputs are declared as). */
function outputDtypes(node: GraphNode, dtypeOf: (name: string) => DType | undefined): DType[] {
  const first = node.inputs.find((n) => n !== "");
  const data = (first && dtypeOf(first)) || "float32";
  if (node.op === "Cast") {
    const to = node.attributes.to;
    const dtype = to?.type === "int" ? ONNX_TYPES[to.value] : undefined;
    if (!dtype) throw new NotCheckable(`node ${node.name} casts to an ONNX type the piecewise run does not declare`);
    return [dtype];
  }
  if (BOOL_OPS.has(node.op)) return node.outputs.map(() => "bool");
  if (INT64_OPS.has(node.op)) return node.outputs.map(() => "int64");
  if (node.op === "TopK") return [data, "int64"];
  if (node.op === "Where") return [dtypeOf(node.inputs[1]!) ?? "float32"];
  return node.outputs.map(() => data);
}

interface Piece {
  nodes: GraphNode[];
  end: number;
}

function pieces(graph: Graph, initializerBytes: ReadonlyMap<string, number>, budget: number): Piece[] {
  const out: Piece[] = [];
  let current: GraphNode[] = [];
  let bytes = 0;
  let seen = new Set<string>();
  graph.nodes.forEach((node, i) => {
    if (Object.values(node.attributes).some((a) => a.type === "graph"))
      throw new NotCheckable(`node ${node.name} (${node.op}) has a nested graph, which the piecewise run does not cut`);
    const added = node.inputs.filter((n) => initializerBytes.has(n) && !seen.has(n)).reduce((s, n) => s + initializerBytes.get(n)!, 0);
    if (current.length && bytes + added > budget) {
      out.push({ nodes: current, end: i - 1 });
      current = [];
      bytes = 0;
      seen = new Set();
    }
    current.push(node);
    for (const n of node.inputs) if (initializerBytes.has(n) && !seen.has(n)) seen.add(n), (bytes += initializerBytes.get(n)!);
  });
  if (current.length) out.push({ nodes: current, end: graph.nodes.length - 1 });
  return out;
}

/** Initializers this large are fed to a piece as inputs. */
const FEED_BYTES = 4096;

/**
 * A float32/float64 weight's bytes as an onnxruntime tensor (undefined for other dtypes: kept as
 * initializers), read into a recycled buffer when the data can (`scratch`, to give back once the
 * piece has run): faulting in fresh memory for each big weight cost more than reading it.
 */
async function weightTensor(ort: OnnxRuntime, t: Tensor): Promise<{ tensor: Ort.Tensor; scratch?: Uint8Array } | undefined> {
  const size = t.dtype === "float32" ? 4 : t.dtype === "float64" ? 8 : 0;
  if (!size) return undefined;
  let scratch: Uint8Array | undefined;
  let bytes: Uint8Array;
  if (t.data.readInto) {
    scratch = takeScratch(t.data.byteLength);
    await t.data.readInto(scratch);
    bytes = scratch;
  } else {
    const read = await t.data.read();
    bytes = read.byteOffset % size === 0 ? read : read.slice();
  }
  const dims = [...t.shape];
  const tensor =
    size === 4
      ? new ort.Tensor("float32", new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), dims)
      : new ort.Tensor("float64", new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8), dims);
  return { tensor, scratch };
}

/** A read of the written file's weights; failing, the check cannot run (it says why) rather than the conversion failing. */
async function readable<T>(read: Promise<T>, what: string): Promise<T> {
  try {
    return await read;
  } catch (e) {
    if (e instanceof NotCheckable) throw e;
    throw new NotCheckable(`the written file's weights (${what.slice(0, 200)}) cannot be read back: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Runs the graph piece by piece on the inputs; its outputs in the graph's order, as float64. */
export async function runGraphInPieces(
  ort: OnnxRuntime,
  graph: Graph,
  encode: EncodeGraph,
  inputs: readonly GraphInput[],
  values: readonly Float64Array[],
  tensorOf: (input: GraphInput, values: Float64Array) => Ort.Tensor,
  budget = CHUNK_BYTES,
): Promise<GraphOutput[]> {
  const initializers = new Map(graph.initializers.map((t) => [t.name, t]));
  const bytes = new Map(graph.initializers.map((t) => [t.name, t.data.byteLength]));
  const dtypes = new Map<string, DType>([
    ...graph.inputs.map((v): [string, DType] => [v.name, v.dtype]),
    ...graph.initializers.map((t): [string, DType] => [t.name, t.dtype]),
  ]);
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    for (const n of node.inputs) lastUse.set(n, i);
    outputDtypes(node, (n) => dtypes.get(n)).forEach((d, k) => dtypes.set(node.outputs[k]!, d));
  });
  const wanted = new Set(graph.outputs.map((o) => o.name));
  const live = new Map<string, Ort.Tensor>();
  inputs.forEach((input, i) => live.set(graph.inputs[i]!.name, tensorOf(input, values[i]!)));
  for (const piece of pieces(graph, bytes, budget)) {
    const produced = new Set(piece.nodes.flatMap((n) => n.outputs));
    const used = [...new Set(piece.nodes.flatMap((n) => n.inputs))].filter((n) => n !== "" && !produced.has(n));
    const feeds: Record<string, Ort.Tensor> = {};
    const pieceInputs: ValueInfo[] = [];
    for (const n of used.filter((n) => !initializers.has(n))) {
      const t = live.get(n);
      if (!t) throw new NotCheckable(`value ${n} is read before any node computes it`);
      feeds[n] = t;
      pieceInputs.push({ name: n, dtype: dtypes.get(n)!, shape: [...t.dims] });
    }
    const outputs = [...produced].filter((n) => wanted.has(n) || (lastUse.get(n) ?? -1) > piece.end);
    // A piece nothing later reads (a node output left unused) has nothing to compute.
    if (!outputs.length) continue;
    // Weights are fed as inputs, the file's bytes as they are: the piece's model stays small to
    // encode and load, and no weight is copied into a model first.
    const pieceInitializers: Tensor[] = [];
    const scratches: Uint8Array[] = [];
    for (const n of used.filter((n) => initializers.has(n))) {
      const t = initializers.get(n)!;
      const fed = t.data.byteLength >= FEED_BYTES ? await readable(weightTensor(ort, t), t.name) : undefined;
      if (!fed) pieceInitializers.push(t);
      else {
        feeds[n] = fed.tensor;
        if (fed.scratch) scratches.push(fed.scratch);
        pieceInputs.push({ name: n, dtype: t.dtype, shape: [...t.shape] });
      }
    }
    const sub: Graph = {
      name: `${graph.name}_piece`,
      opset: graph.opset,
      domains: graph.domains,
      inputs: pieceInputs,
      outputs: outputs.map((n) => ({ name: n, dtype: dtypes.get(n)! })),
      nodes: piece.nodes,
      initializers: pieceInitializers,
    };
    const session = await ort.InferenceSession.create(await readable(encode(sub), sub.initializers.map((t) => t.name).join(", ")));
    try {
      const results = await session.run(feeds);
      for (const n of outputs) live.set(n, results[n] as Ort.Tensor);
    } catch (e) {
      throw new NotCheckable(`onnxruntime cannot run the converted graph on seeded inputs (${(e as Error).message.split("\n")[0]})`);
    } finally {
      await session.release();
    }
    // Only after a clean run: the outputs are onnxruntime's own buffers, the fed weights nobody's any more.
    for (const s of scratches) giveScratch(s);
    for (const n of [...live.keys()]) if (!wanted.has(n) && (lastUse.get(n) ?? -1) <= piece.end) live.delete(n);
  }
  return graph.outputs.map((o) => {
    const t = live.get(o.name);
    if (!t) throw new NotCheckable(`graph output ${o.name} is computed by no node`);
    const data = t.data as ArrayLike<number | bigint>;
    return { name: o.name, shape: [...t.dims], values: Float64Array.from({ length: data.length }, (_, i) => Number(data[i]!)) };
  });
}

/** The graph's inputs as the check feeds them (symbolic dimensions given a small size). */
export function piecewiseInputs(graph: Graph): GraphInput[] {
  return graph.inputs.map((v) => {
    if (!v.shape) throw new NotCheckable(`graph input ${v.name} has no known rank`);
    const symbolic = v.shape.map((d) => typeof d !== "number" || d < 0);
    return { name: v.name, type: v.dtype, shape: v.shape.map((d, i) => (symbolic[i] ? SYMBOLIC_SIZE : (d as number))), symbolic };
  });
}
