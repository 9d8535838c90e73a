import type { DType } from "../../tensor/dtype.js";
import type { Tensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import type { Attribute, Graph, GraphNode } from "../ir.js";
import type { AssignOptions, ConstantValue, TorchOp } from "./op.js";
import { type ModuleEmitter, Scope } from "./scope.js";
import { shortestFloat32 } from "./python.js";

// One node's view of the emitter (see TorchOp). Attributes read are recorded: finish() refuses
// a node that carries an attribute its handler never looked at.

export class NodeOp implements TorchOp {
  private readonly read = new Set<string>();
  private readonly outputs = new Map<number, string>();
  /** The node this one's single output was fused into: its output is assigned instead. */
  private into?: GraphNode;

  constructor(
    private readonly emitter: ModuleEmitter,
    readonly node: GraphNode,
    readonly version: number,
    private readonly scope: Scope,
  ) {}

  refuse(what: string): never {
    throw this.refusal(what);
  }

  refusal(what: string): WeightbridgeError {
    return new WeightbridgeError("unsupported", `node '${this.node.name}' (${this.node.op}, opset ${this.version}): ${what}`);
  }

  finish(): void {
    for (const name of Object.keys(this.node.attributes)) {
      if (!this.read.has(name)) this.refuse(`attribute '${name}' is not covered`);
    }
    if (this.into) return;
    this.node.outputs.forEach((name, i) => {
      if (this.wants(i) && !this.scope.value(name) && !this.scope.tensors.has(name)) this.refuse(`output ${i + 1} ('${name}') is not computed`);
    });
  }

  has(i: number): boolean {
    return (this.node.inputs[i] ?? "") !== "";
  }

  private inputName(i: number): string {
    if (!this.has(i)) this.refuse(`input ${i + 1} is required`);
    return this.node.inputs[i]!;
  }

  input(i: number): string {
    return this.emitter.valueExpr(this.inputName(i), this.scope, `node '${this.node.name}' (${this.node.op})`);
  }

  expression(name: string): string {
    return this.emitter.valueExpr(name, this.scope, `node '${this.node.name}' (${this.node.op})`);
  }

  scalarOr(i: number): string {
    const c = this.constant(i);
    // A one-element constant broadcasts like a Python number only if it adds no axes to the result.
    const other = this.rank(i === 0 ? 1 : 0);
    const harmless = c !== undefined && (c.shape.length === 0 || (other !== undefined && other >= c.shape.length));
    if (c && harmless && c.values.length === 1 && !this.scope.value(this.inputName(i))) return this.emitter.scalarLiteral(c);
    return this.input(i);
  }

  lookupInitializer(name: string): Tensor | undefined {
    return this.scope.value(name) ? undefined : this.scope.tensor(name);
  }

  initializer(i: number): Tensor | undefined {
    if (!this.has(i) || this.scope.value(this.node.inputs[i]!)) return undefined;
    return this.scope.tensor(this.node.inputs[i]!);
  }

  constant(i: number): ConstantValue | undefined {
    const t = this.initializer(i);
    return t ? this.emitter.constants.get(t) : undefined;
  }

  valuesOf(tensor: Tensor): ConstantValue | undefined {
    return this.emitter.constants.get(tensor);
  }

  literal(value: ConstantValue): string {
    return this.emitter.literal(value);
  }

  constInts(i: number, what: string): number[] {
    const c = this.constant(i);
    if (!c) this.refuse(`${what} (input ${i + 1}) is computed at run time; only a constant is covered`);
    return c.values.map((v) => Math.trunc(v));
  }

  dtype(i: number): DType | undefined {
    if (!this.has(i)) return undefined;
    const name = this.node.inputs[i]!;
    return this.scope.value(name)?.dtype ?? this.scope.tensor(name)?.dtype;
  }

  rank(i: number): number | undefined {
    if (!this.has(i)) return undefined;
    const name = this.node.inputs[i]!;
    return this.scope.value(name)?.rank ?? this.scope.tensor(name)?.shape.length;
  }

  private attribute(name: string, type: Attribute["type"]): Attribute | undefined {
    this.read.add(name);
    const a = this.node.attributes[name];
    if (a && a.type !== type) this.refuse(`attribute '${name}' is ${a.type}, expected ${type}`);
    return a;
  }

  private required<T>(name: string, value: T | undefined, fallback: T | undefined): T {
    if (value !== undefined) return value;
    if (fallback === undefined) this.refuse(`attribute '${name}' is required`);
    return fallback;
  }

  attrInt(name: string, fallback?: number): number {
    return this.required(name, this.attribute(name, "int")?.value as number | undefined, fallback);
  }
  attrFloat(name: string, fallback?: number): number {
    return shortestFloat32(this.required(name, this.attribute(name, "float")?.value as number | undefined, fallback));
  }
  attrString(name: string, fallback?: string): string {
    return this.required(name, this.attribute(name, "string")?.value as string | undefined, fallback);
  }
  attrInts(name: string, fallback?: number[]): number[] {
    return this.required(name, this.attribute(name, "ints")?.value as number[] | undefined, fallback);
  }
  attrFloats(name: string, fallback?: number[]): number[] {
    return this.required(name, this.attribute(name, "floats")?.value as number[] | undefined, fallback);
  }
  attrStrings(name: string, fallback?: string[]): string[] {
    return this.required(name, this.attribute(name, "strings")?.value as string[] | undefined, fallback);
  }
  attrTensor(name: string): Tensor {
    return this.required(name, this.attribute(name, "tensor")?.value as Tensor | undefined, undefined);
  }
  attrGraph(name: string): Graph {
    return this.required(name, this.attribute(name, "graph")?.value as Graph | undefined, undefined);
  }
  hasAttr(name: string): boolean {
    return name in this.node.attributes;
  }

  get outputCount(): number {
    return this.node.outputs.length;
  }

  /** Named, and read by a node or returned by a graph (a value nobody reads is not computed: no unused locals). */
  wants(i: number): boolean {
    const name = this.node.outputs[i] ?? "";
    return name !== "" && (this.emitter.readers.has(name) || this.emitter.returned.has(name));
  }

  output(i: number): string {
    let local = this.outputs.get(i);
    if (!local) {
      const name = (this.into ? this.into.outputs[i] : this.node.outputs[i]) ?? "";
      local = this.emitter.locals.take(name, "v");
      this.outputs.set(i, local);
      this.scope.values.set(name, { expr: local, dtype: this.dtype(0), rank: undefined });
    }
    return local;
  }

  setDtype(i: number, dtype: DType | undefined, rank?: number): void {
    this.output(i);
    const value = this.scope.values.get((this.into ?? this.node).outputs[i]!)!;
    value.dtype = dtype;
    if (rank !== undefined) value.rank = rank;
  }

  assign(expression: string | string[], options: AssignOptions = {}): void {
    const expressions = Array.isArray(expression) ? expression : [expression];
    const dtypes = Array.isArray(options.dtype) ? options.dtype : [options.dtype];
    if (options.comment) this.line(`# ${this.node.name} (${this.node.op})`);
    expressions.forEach((e, i) => {
      if (!this.wants(i)) return;
      this.line(`${this.output(i)} = ${e}`);
      this.setDtype(i, Array.isArray(options.dtype) ? dtypes[i] : (options.dtype ?? this.dtype(0)));
      const rank = options.rank === "same" ? this.sameRank() : options.rank;
      if (rank !== undefined) this.scope.values.get((this.into ?? this.node).outputs[i]!)!.rank = rank;
    });
  }

  /** The largest rank of the inputs, when every given input's rank is known. */
  private sameRank(): number | undefined {
    const ranks = this.node.inputs.map((_, i) => (this.has(i) ? this.rank(i) : -1));
    return ranks.includes(undefined) ? undefined : Math.max(...(ranks as number[]));
  }

  soleReader(i: number): GraphNode | undefined {
    const name = this.node.outputs[i] ?? "";
    const readers = this.emitter.readers.get(name) ?? [];
    return readers.length === 1 && !this.emitter.returned.has(name) && this.outputCount === 1 ? readers[0] : undefined;
  }

  fuseInto(next: GraphNode): void {
    if (this.outputs.size > 0) this.refuse("fused after its output was named");
    this.emitter.fused.add(next);
    this.into = next;
  }

  line(code: string): void {
    this.emitter.forward.push(`${"    ".repeat(this.emitter.depth)}${code}`);
  }

  temp(hint: string): string {
    return this.emitter.locals.take(hint, "t");
  }

  layer(ctor: string, weights: Record<string, Tensor>, hint?: string): string {
    return this.emitter.layer(this.node, ctor, weights, hint);
  }

  helper(name: string, code: string): string {
    this.emitter.helpers.set(name, code);
    return name;
  }

  useMath(): void {
    this.emitter.math = true;
  }

  indent(delta: number): void {
    this.emitter.depth += delta;
  }

  body(graph: Graph, inputs: string[]): string[] {
    const scope = new Scope(this.scope);
    for (const t of graph.initializers) scope.tensors.set(t.name, t);
    graph.inputs.forEach((v, i) => scope.values.set(v.name, { expr: inputs[i]!, dtype: v.dtype, rank: v.shape?.length }));
    this.emitter.emitNodes(graph, scope);
    return graph.outputs.map((o) => this.emitter.valueExpr(o.name, scope, `subgraph of node '${this.node.name}'`));
  }

  bindConstant(i: number, tensor: Tensor): void {
    this.scope.tensors.set(this.node.outputs[i]!, tensor);
  }
}
