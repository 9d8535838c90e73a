import type * as Ort from "onnxruntime-node";
import type { OnnxRuntime } from "./runtime.js";
import { NotCheckable } from "../params.js";
import type { GraphFile } from "./graph-file.js";

// Running an ONNX graph on seeded inputs: every graph input gets values from one seeded
// generator (floats uniform in [-1, 1), integer ids 0 or 1 so any Gather table holds them),
// symbolic dimensions are given a small size.

/** Size given to a dimension the graph leaves symbolic (batch, sequence length). */
export const SYMBOLIC_SIZE = 2;

export interface GraphInput {
  name: string;
  type: string;
  shape: number[];
  /** Dimensions the graph leaves symbolic (given SYMBOLIC_SIZE unless the other graph fixes them). */
  symbolic?: boolean[];
}

export interface GraphOutput {
  name: string;
  shape: number[];
  values: Float64Array;
}

export async function openGraph(ort: OnnxRuntime, file: GraphFile, which: string): Promise<Ort.InferenceSession> {
  try {
    if (typeof file === "string") return await ort.InferenceSession.create(file);
    return await ort.InferenceSession.create(typeof file === "function" ? await file() : file);
  } catch (e) {
    const message = (e as Error).message;
    if (typeof file !== "string" && /external data/i.test(message)) {
      throw new NotCheckable(
        `the ${which} graph keeps its weights in external data, which onnxruntime cannot find beside in-memory bytes or temporaries: run weightbridge verify on the written files`,
      );
    }
    throw new NotCheckable(`onnxruntime cannot load the ${which} graph (${message.split("\n")[0]!.slice(0, 200)})`);
  }
}

/** The graph's tensor inputs with every dimension a number. */
export function graphInputs(session: Ort.InferenceSession): GraphInput[] {
  return session.inputMetadata.map((m) => {
    if (!m.isTensor) throw new NotCheckable(`graph input ${m.name} is not a tensor`);
    const symbolic = m.shape.map((d) => !(typeof d === "number" && d >= 0));
    return { name: m.name, type: m.type, shape: m.shape.map((d, i) => (symbolic[i] ? SYMBOLIC_SIZE : (d as number))), symbolic };
  });
}

/**
 * One shape for an input both graphs take (by position): a dimension one graph leaves symbolic
 * takes the other's size. NotCheckable when ranks or fixed sizes differ (the graphs want other inputs).
 */
export function commonInputs(a: readonly GraphInput[], b: readonly GraphInput[]): GraphInput[] {
  const describe = (x: readonly GraphInput[]) => x.map((i) => `${i.name} [${i.shape.map((d, k) => (i.symbolic?.[k] ? "?" : d)).join(",")}]`).join(", ");
  const differ = () => new NotCheckable(`the graphs take different inputs: ${describe(a)} and ${describe(b)}`);
  if (a.length !== b.length) throw differ();
  return a.map((x, i) => {
    const y = b[i]!;
    if (x.shape.length !== y.shape.length || x.type !== y.type) throw differ();
    const shape = x.shape.map((d, k) => {
      const [fx, fy] = [!x.symbolic?.[k], !y.symbolic?.[k]];
      if (fx && fy && d !== y.shape[k]) throw differ();
      return fx ? d : y.shape[k]!;
    });
    return { name: x.name, type: x.type, shape };
  });
}

const FLOATS = new Set(["float32", "float64", "float16"]);
const INTS = new Set(["int64", "int32", "int8", "uint8", "int16", "uint16", "uint32", "uint64"]);

/** Seeded values for one input, as float64 (ids are 0 or 1). */
export function seededValues(input: GraphInput, random: () => number): Float64Array {
  const n = input.shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  if (FLOATS.has(input.type)) for (let i = 0; i < n; i++) out[i] = random() * 2 - 1;
  else if (INTS.has(input.type)) for (let i = 0; i < n; i++) out[i] = random() < 0.5 ? 0 : 1;
  else if (input.type !== "bool") throw new NotCheckable(`graph input ${input.name} is ${input.type}: no seeded values for it`);
  return out;
}

export function tensorOf(ort: OnnxRuntime, input: GraphInput, values: Float64Array): Ort.Tensor {
  const dims = input.shape;
  switch (input.type) {
    case "float32":
      return new ort.Tensor("float32", Float32Array.from(values), dims);
    case "float64":
      return new ort.Tensor("float64", Float64Array.from(values), dims);
    case "int64":
      return new ort.Tensor(
        "int64",
        BigInt64Array.from(values, (v) => BigInt(v)),
        dims,
      );
    case "int32":
      return new ort.Tensor("int32", Int32Array.from(values), dims);
    case "bool":
      return new ort.Tensor("bool", Uint8Array.from(values), dims);
    default:
      throw new NotCheckable(`graph input ${input.name} is ${input.type}: not fed by the whole-model check`);
  }
}

/** Runs the graph; outputs in the graph's order, as float64. */
export async function runGraph(
  ort: OnnxRuntime,
  session: Ort.InferenceSession,
  inputs: readonly GraphInput[],
  values: readonly Float64Array[],
  which: string,
): Promise<GraphOutput[]> {
  const feeds: Record<string, Ort.Tensor> = {};
  inputs.forEach((input, i) => (feeds[input.name] = tensorOf(ort, input, values[i]!)));
  let results: Ort.InferenceSession.OnnxValueMapType;
  try {
    results = await session.run(feeds);
  } catch (e) {
    throw new NotCheckable(`onnxruntime cannot run the ${which} graph on seeded inputs (${(e as Error).message.split("\n")[0]})`);
  }
  return session.outputNames.map((name) => {
    const t = results[name] as Ort.Tensor;
    if (typeof t.data === "string" || Array.isArray(t.data) || t.type === "string")
      throw new NotCheckable(`${which} graph output ${name} is ${t.type}, not numbers`);
    const data = t.data as ArrayLike<number | bigint>;
    return { name, shape: [...t.dims], values: Float64Array.from({ length: data.length }, (_, i) => Number(data[i]!)) };
  });
}
