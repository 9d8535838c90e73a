import type { DType } from "../../tensor/dtype.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Graph, GraphNode } from "../ir.js";
import type { ConstantValue } from "./op.js";
import type { Names } from "./python.js";

// What a node's handler sees while the module is written: the values in scope, and the module
// being emitted (emit.ts's Emitter), so that node-op.ts need not import the emitter that makes it.

/** A value flowing through forward. */
export interface ValueState {
  expr: string;
  dtype?: DType;
  rank?: number;
}

export class Scope {
  readonly values = new Map<string, ValueState>();
  readonly tensors = new Map<string, Tensor>();
  constructor(readonly parent?: Scope) {}
  value(name: string): ValueState | undefined {
    return this.values.get(name) ?? this.parent?.value(name);
  }
  tensor(name: string): Tensor | undefined {
    return this.tensors.get(name) ?? this.parent?.tensor(name);
  }
}

/** The module being emitted, as a node's handler writes into it. */
export interface ModuleEmitter {
  readonly locals: Names;
  readonly forward: string[];
  readonly helpers: Map<string, string>;
  readonly constants: Map<Tensor, ConstantValue>;
  readonly readers: Map<string, GraphNode[]>;
  readonly returned: Set<string>;
  readonly fused: Set<GraphNode>;
  math: boolean;
  depth: number;
  emitNodes(graph: Graph, scope: Scope): void;
  valueExpr(name: string, scope: Scope, what: string): string;
  literal(value: ConstantValue): string;
  scalarLiteral(value: ConstantValue): string;
  layer(node: GraphNode, ctor: string, weights: Record<string, Tensor>, hint?: string): string;
}
