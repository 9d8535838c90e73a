import type { DType } from "../../tensor/dtype.js";
import { isFloating, numelOf } from "../../tensor/dtype.js";
import { type Tensor, makeTensor } from "../../tensor/tensor.js";
import { elementReader, hasNumericAccess } from "../../kernels/elements.js";
import { WeightbridgeError } from "../../errors.js";
import type { Graph, GraphNode } from "../ir.js";
import { type ConstantValue, type TorchHandler, torchOps } from "./op.js";
import { Names, pyList, pyNested, pyScalar, pyString, torchDtype } from "./python.js";
import { NodeOp } from "./node-op.js";
import { type ModuleEmitter, Scope } from "./scope.js";
import "./ops/index.js";
import { recognisePatterns } from "./patterns/index.js";

// Graph → PyTorch source: one class Model(nn.Module) whose __init__ declares layers and weights
// and whose forward writes one line per node, in the graph's (topological) order, plus the
// state_dict that module loads with strict=True. Each node goes to the handler registered for
// its (domain, op, opset); a node without one, or with an attribute its handler does not read,
// is refused by name.

/** Constants this small are written into the source as literals; bigger ones go to the state_dict. */
const LITERAL_MAX = 16;
/** Constants this small are read up front, so handlers may use their values (shapes, axes, pads). */
const READ_MAX = 1 << 16;

export interface TorchModule {
  /** The Python file. */
  source: string;
  /** The state_dict of exactly that module, keys as torch names them. */
  state: Tensor[];
  /** For each state_dict entry, the graph tensor it was made from. */
  sources: string[];
}

export interface EmitOptions {
  className?: string;
}

export async function emitTorchModule(graph: Graph, options: EmitOptions = {}): Promise<TorchModule> {
  const emitter = new Emitter(graph);
  await emitter.readConstants(graph);
  return emitter.emit(options.className ?? "Model");
}

export class Emitter implements ModuleEmitter {
  readonly attributes = new Names(["self", "training"]);
  readonly locals = new Names(["self", "torch", "nn", "math"]);
  readonly init: string[] = [];
  readonly forward: string[] = [];
  readonly helpers = new Map<string, string>();
  readonly state: Tensor[] = [];
  readonly sources: string[] = [];
  readonly constants = new Map<Tensor, ConstantValue>();
  /** Initializers and constants already declared on self, by tensor. */
  private readonly declared = new Map<Tensor, string>();
  math = false;
  depth = 2;
  /** How many nodes (in any graph or subgraph) read each value, and the values graphs return. */
  readonly readers = new Map<string, GraphNode[]>();
  readonly returned = new Set<string>();
  /** Nodes whose outputs nothing returned depends on (ONNX ops have no side effects): not written, and not readers. */
  private readonly dead = new Set<GraphNode>();
  /** Nodes another node's handler wrote as part of its own line (MatMul + bias Add → nn.Linear). */
  readonly fused = new Set<GraphNode>();
  /** Regions written as one layer (patterns/): the handler that writes each, at its last node. */
  private readonly patterns = new Map<GraphNode, TorchHandler>();

  constructor(readonly graph: Graph) {
    this.index(graph);
  }

  private index(graph: Graph): void {
    for (const o of graph.outputs) this.returned.add(o.name);
    const live = liveNodes(graph);
    for (const node of graph.nodes) {
      if (!live.has(node)) {
        this.dead.add(node);
        continue;
      }
      for (const name of node.inputs) this.readers.set(name, [...(this.readers.get(name) ?? []), node]);
      for (const a of Object.values(node.attributes)) if (a.type === "graph") this.index(a.value);
    }
  }

  async readConstants(graph: Graph): Promise<void> {
    const tensors: Tensor[] = [...graph.initializers];
    for (const node of graph.nodes) {
      for (const a of Object.values(node.attributes)) {
        if (a.type === "tensor") tensors.push(a.value);
        if (a.type === "graph") await this.readConstants(a.value);
      }
    }
    for (const t of tensors) {
      if (numelOf(t.shape) > READ_MAX || !hasNumericAccess(t.dtype)) continue;
      const bytes = await t.data.read();
      const read = elementReader(t.dtype, bytes);
      this.constants.set(t, { dtype: t.dtype, shape: [...t.shape], values: Array.from({ length: numelOf(t.shape) }, (_, i) => read(i)) });
    }
  }

  emit(className: string): TorchModule {
    for (const match of recognisePatterns(this.graph, this.readers, this.returned, this.constants)) {
      for (const node of match.nodes) if (node !== match.anchor) this.fused.add(node);
      this.patterns.set(match.anchor, match.emit);
    }
    const scope = new Scope();
    const args: string[] = [];
    for (const t of this.graph.initializers) scope.tensors.set(t.name, t);
    for (const input of this.graph.inputs) {
      if (!torchDtype(input.dtype))
        throw new WeightbridgeError("unsupported", `graph input '${input.name}' is ${input.dtype}, which torch 1.13 has no dtype for`);
      const expr = this.locals.take(input.name, "input");
      args.push(expr);
      scope.values.set(input.name, { expr, dtype: input.dtype, rank: input.shape?.length });
    }
    const outputs = this.emitNodes(this.graph, scope);
    const result = this.graph.outputs.map((o) => this.valueExpr(o.name, scope, `graph output '${o.name}'`));
    void outputs;
    this.forward.push(`        return ${result.length === 1 ? result[0]! : result.join(", ")}`);
    return { source: this.source(className, args), state: this.state, sources: this.sources };
  }

  /** Emits a graph's nodes in `scope`; returns nothing (outputs are read from the scope). */
  emitNodes(graph: Graph, scope: Scope): void {
    for (const node of graph.nodes) {
      if (this.fused.has(node) || this.dead.has(node)) continue;
      const version = node.domain === "" || node.domain === "ai.onnx" ? this.graph.opset : (this.graph.domains?.[node.domain] ?? 1);
      const handler = this.patterns.get(node) ?? torchOps.lookup(node.domain, node.op, version);
      const op = new NodeOp(this, node, version, scope);
      if (!handler) {
        const what = torchOps.knows(node.domain, node.op)
          ? `${node.op} at opset ${version} is not covered (other versions are)`
          : `op ${node.domain ? `${node.domain}::` : ""}${node.op} is not covered`;
        throw op.refusal(what);
      }
      handler(op);
      op.finish();
    }
  }

  /** The Python expression of a value: a local, or an initializer/constant declared on self. */
  valueExpr(name: string, scope: Scope, what: string): string {
    const value = scope.value(name);
    if (value) return value.expr;
    const tensor = scope.tensor(name);
    if (tensor) return this.declare(tensor);
    throw new WeightbridgeError("unsupported", `${what} reads '${name}', which no node, input or initializer gives`);
  }

  /** An initializer or constant as an attribute of the module (a parameter, a buffer, or a literal buffer). */
  declare(tensor: Tensor): string {
    const known = this.declared.get(tensor);
    if (known) return known;
    const dtype = torchDtype(tensor.dtype);
    if (!dtype) throw new WeightbridgeError("unsupported", `tensor '${tensor.name}' is ${tensor.dtype}, which torch 1.13 has no dtype for`);
    const name = this.attributes.take(tensor.name, "weight");
    const value = this.constants.get(tensor);
    if (tensor.role !== "initializer" && value && value.values.length <= LITERAL_MAX) {
      this.init.push(`        self.register_buffer(${pyString(name)}, torch.tensor(${this.literal(value)}, dtype=${dtype}), persistent=False)`);
    } else {
      const empty = `torch.empty(${pyList(tensor.shape.map(String))}, dtype=${dtype})`;
      if (tensor.role === "initializer" && isFloating(tensor.dtype)) this.init.push(`        self.${name} = nn.Parameter(${empty})`);
      else this.init.push(`        self.register_buffer(${pyString(name)}, ${empty})`);
      this.state.push(makeTensor(name, tensor.dtype, [...tensor.shape], tensor.data));
      this.sources.push(tensor.name);
    }
    this.declared.set(tensor, `self.${name}`);
    return `self.${name}`;
  }

  literal(value: ConstantValue): string {
    if (value.values.some((v) => !Number.isFinite(v))) this.math = true;
    return pyNested(value.values, value.shape, value.dtype);
  }

  scalarLiteral(value: ConstantValue): string {
    if (!Number.isFinite(value.values[0]!)) this.math = true;
    return pyScalar(value.values[0]!, value.dtype);
  }

  /** A layer declared in __init__ with its weights in the state_dict. */
  layer(node: GraphNode, ctor: string, weights: Record<string, Tensor>, hint?: string): string {
    for (const t of Object.values(weights)) {
      if (!torchDtype(t.dtype))
        throw new WeightbridgeError("unsupported", `node '${node.name}' (${node.op}): weight '${t.name}' is ${t.dtype}, which torch 1.13 has no dtype for`);
    }
    const name = this.attributes.take(hint ?? layerName(node, Object.values(weights)), node.op.toLowerCase());
    this.init.push(`        self.${name} = ${ctor}`);
    for (const [key, t] of Object.entries(weights)) {
      this.state.push(makeTensor(`${name}.${key}`, t.dtype, [...t.shape], t.data));
      this.sources.push(t.name);
    }
    return `self.${name}`;
  }

  private source(className: string, args: string[]): string {
    const body = [...this.helpers.values(), ...this.init, ...this.forward].join("\n");
    const lines: string[] = [];
    if (this.math) lines.push("import math");
    // `import torch.nn as nn` binds nn only: torch is imported when the code names it.
    if (/\btorch\./.test(body)) lines.push("import torch");
    lines.push("import torch.nn as nn");
    if (/\bF\./.test(body)) lines.push("import torch.nn.functional as F");
    lines.push("");
    for (const code of this.helpers.values()) lines.push("", code.trimEnd(), "");
    lines.push("", `class ${className}(nn.Module):`, "    def __init__(self):", "        super().__init__()", ...this.init, "");
    lines.push(`    def forward(${["self", ...args].join(", ")}):`, ...this.forward, "");
    return `${lines.join("\n").replace(/\n{3,}/g, "\n\n\n")}`;
  }
}

/** A layer's name: its weights' common prefix when the exporter kept the source's names, else the node's. */
function layerName(node: GraphNode, weights: Tensor[]): string {
  const named = weights.map((t) => t.name).filter((n) => /^[A-Za-z_][\w.]*$/.test(n) && !/^_?v_?\d+$/.test(n));
  if (named.length > 0) {
    const parts = named.map((n) => n.split("."));
    const prefix: string[] = [];
    for (let i = 0; i < parts[0]!.length - 1 && parts.every((p) => p[i] === parts[0]![i]); i++) prefix.push(parts[0]![i]!);
    if (prefix.length > 0) return prefix.join(".");
  }
  const scoped = node.sourceLayer?.replace(/^\//, "").replace(/\/[A-Za-z]+(_\d+)?$/, "");
  return scoped || node.name;
}

/**
 * The nodes a graph's outputs depend on, walking back from them (nodes are in topological order).
 * A live node's subgraphs count as reading every value their nodes read.
 */
function liveNodes(graph: Graph): Set<GraphNode> {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const live = new Set<GraphNode>();
  const readAll = (g: Graph): void => {
    for (const node of g.nodes) {
      for (const name of node.inputs) needed.add(name);
      for (const a of Object.values(node.attributes)) if (a.type === "graph") readAll(a.value);
    }
  };
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (!node.outputs.some((name) => needed.has(name))) continue;
    live.add(node);
    for (const name of node.inputs) needed.add(name);
    for (const a of Object.values(node.attributes)) if (a.type === "graph") readAll(a.value);
  }
  return live;
}
