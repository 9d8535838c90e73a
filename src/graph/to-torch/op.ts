import type { DType } from "../../tensor/dtype.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Graph, GraphNode } from "../ir.js";
import { OpRegistry } from "../registry.js";

// What an op handler sees while it writes PyTorch for one node: its inputs as Python
// expressions (or as constant values, for the inputs ONNX passes as tensors but torch wants as
// literals), its attributes (each one it reads is marked covered: a node with an attribute no
// handler read is refused, never silently ignored), and ways to declare layers and write lines.

/** A constant input's values (an initializer or a Constant node's output), read whole. */
export interface ConstantValue {
  dtype: DType;
  shape: number[];
  values: number[];
}

export interface AssignOptions {
  /** Output dtypes when they are not the first input's. */
  dtype?: DType | Array<DType | undefined>;
  /** Output rank when known: a number, or "same" (the largest input rank: element-wise ops, layers that keep rank). */
  rank?: number | "same";
  /** Name the source node in a comment (for lines whose mapping is not obvious). */
  comment?: boolean;
}

export interface TorchOp {
  readonly node: GraphNode;
  /** The version of the node's domain the graph imports. */
  readonly version: number;
  /** Whether input `i` is given (not absent, not ""). */
  has(i: number): boolean;
  /** Input `i` as a Python expression (a local, `self.weight`, a literal buffer). */
  input(i: number): string;
  /** Any value in scope, by its graph name, as a Python expression (for layers that span several nodes). */
  expression(name: string): string;
  /** Input `i` as a Python number literal when it is a constant scalar, else as input(i). */
  scalarOr(i: number): string;
  constant(i: number): ConstantValue | undefined;
  /** The values of a tensor (an attribute's), when small enough to have been read. */
  valuesOf(tensor: Tensor): ConstantValue | undefined;
  /** A Python literal of constant values (a number for 0-d). */
  literal(value: ConstantValue): string;
  /** A constant input's values as integers; refuses when the input is computed at run time. */
  constInts(i: number, what: string): number[];
  dtype(i: number): DType | undefined;
  /** The input's rank when the graph says it. */
  rank(i: number): number | undefined;
  /** The initializer (or constant) a value name refers to, when it is one. */
  lookupInitializer(name: string): Tensor | undefined;
  /** The input's initializer tensor, when it is one. */
  initializer(i: number): Tensor | undefined;

  attrInt(name: string, fallback?: number): number;
  attrFloat(name: string, fallback?: number): number;
  attrString(name: string, fallback?: string): string;
  attrInts(name: string, fallback?: number[]): number[];
  attrFloats(name: string, fallback?: number[]): number[];
  attrStrings(name: string, fallback?: string[]): string[];
  attrTensor(name: string): Tensor;
  attrGraph(name: string): Graph;
  hasAttr(name: string): boolean;

  /** Whether output `i` is wanted (named, and read by a node or returned). */
  wants(i: number): boolean;
  readonly outputCount: number;
  /** Writes `outputs = expression` (one expression per wanted output, or one tuple for several). */
  assign(expression: string | string[], options?: AssignOptions): void;
  /** The Python local that holds output `i` (after assign, or to assign in lines of one's own). */
  output(i: number): string;
  /** Declares output dtypes when lines assign them directly. */
  setDtype(i: number, dtype: DType | undefined, rank?: number): void;
  /** The one node that reads output `i`, when exactly one does and no graph returns it. */
  soleReader(i: number): GraphNode | undefined;
  /** Writes this node and `next` (its output's sole reader) as one line: outputs are then next's. */
  fuseInto(next: GraphNode): void;
  /** A line of forward at the current indentation. */
  line(code: string): void;
  /** A fresh local name. */
  temp(hint: string): string;
  /** Declares `self.NAME = ctor` in __init__ with these state_dict entries (NAME.key → tensor); returns `self.NAME`. */
  layer(ctor: string, weights: Record<string, Tensor>, hint?: string): string;
  /** A module-level helper function, written once whatever the number of callers. */
  helper(name: string, code: string): string;
  /** The generated file needs `import math`. */
  useMath(): void;
  /** A subgraph's nodes inline at the current indentation, its inputs bound to `inputs`; returns its outputs' expressions. */
  body(graph: Graph, inputs: string[]): string[];
  /** Makes a constant input's value known to later nodes (Constant), without a line of code. */
  bindConstant(i: number, tensor: Tensor): void;
  indent(delta: number): void;
  refuse(what: string): never;
}

export type TorchHandler = (op: TorchOp) => void;

/** THE registry of PyTorch emitters; each op family registers from its own file (./ops/index.ts). */
export const torchOps = new OpRegistry<TorchHandler>();

/** Registers one handler for several ops (elementwise families). */
export function registerAll(ops: Record<string, TorchHandler>, since: number, until?: number, domain = ""): void {
  for (const [op, handler] of Object.entries(ops)) torchOps.register({ domain, op, since, until, handler });
}
