import type { Tensor } from "../../../tensor/tensor.js";
import type { GraphNode } from "../../ir.js";
import type { ConstantValue } from "../op.js";

// The shape arithmetic exporters write around a layer (Shape → Gather → Mul → Unsqueeze →
// Concat → Reshape), evaluated for every size at once: a size is a monomial over named sizes
// (L, B) times an integer, enough to prove that a Reshape's target is [L, B*H, E/H] whatever
// the input's length and batch. Anything outside this arithmetic makes the evaluation fail,
// and a pattern that needs it then does not match (the nodes are written one by one instead).

/** coef × the product of the named sizes in syms (sorted). */
export interface Dim {
  coef: number;
  syms: string[];
}

interface SymValue {
  scalar: boolean;
  dims: Dim[];
}

export const known = (coef: number): Dim => ({ coef, syms: [] });
export const named = (sym: string, coef = 1): Dim => ({ coef, syms: [sym] });

export function dimTimes(a: Dim, b: Dim): Dim {
  return { coef: a.coef * b.coef, syms: [...a.syms, ...b.syms].sort() };
}

export function sameDim(a: Dim, b: Dim): boolean {
  return a.coef === b.coef && a.syms.join("*") === b.syms.join("*");
}

export function sameDims(a: Dim[] | undefined, b: Dim[]): boolean {
  return a !== undefined && a.length === b.length && a.every((d, i) => sameDim(d, b[i]!));
}

function combine(op: string, a: Dim, b: Dim): Dim | undefined {
  if (op === "Mul") return dimTimes(a, b);
  if (op === "Add" || op === "Sub") {
    if (a.syms.join("*") !== b.syms.join("*")) return undefined;
    const coef = op === "Add" ? a.coef + b.coef : a.coef - b.coef;
    return coef === 0 ? known(0) : { coef, syms: a.syms };
  }
  // Div: only exact divisions of non-negative sizes by a known positive size.
  if (b.syms.length > 0 || b.coef <= 0 || a.coef < 0) return undefined;
  if (a.syms.length === 0) return known(Math.trunc(a.coef / b.coef));
  return a.coef % b.coef === 0 ? { coef: a.coef / b.coef, syms: a.syms } : undefined;
}

export interface SymbolicGraph {
  producer(name: string): GraphNode | undefined;
  /** An initializer's values (int tensors read up front). */
  initializer(name: string): ConstantValue | undefined;
  valuesOf(tensor: Tensor): ConstantValue | undefined;
  /** The symbolic shape of a tensor the pattern knows. */
  shapeOf(name: string): Dim[] | undefined;
}

export class ShapeArithmetic {
  /** The nodes an evaluation went through (they belong to the pattern's region). */
  readonly visited = new Set<GraphNode>();
  private readonly memo = new Map<string, SymValue | undefined>();

  constructor(private readonly graph: SymbolicGraph) {}

  /** The value of an integer vector or scalar, or undefined when it is not plain shape arithmetic. */
  vector(name: string): Dim[] | undefined {
    return this.value(name)?.dims;
  }

  private value(name: string): SymValue | undefined {
    if (this.memo.has(name)) return this.memo.get(name);
    const result = this.compute(name);
    this.memo.set(name, result);
    return result;
  }

  private compute(name: string): SymValue | undefined {
    const init = this.graph.initializer(name);
    if (init) return fromConstant(init);
    const node = this.graph.producer(name);
    if (node?.domain !== "" || !node || node.outputs.length !== 1) return undefined;
    const result = this.evaluate(node);
    if (result) this.visited.add(node);
    return result;
  }

  private evaluate(node: GraphNode): SymValue | undefined {
    const attrs = node.attributes;
    const only = (...names: string[]) => Object.keys(attrs).every((k) => names.includes(k));
    const intAttr = (k: string, fallback: number) => {
      const a = attrs[k];
      return a === undefined ? fallback : a.type === "int" ? a.value : NaN;
    };
    const input = (i: number) => (node.inputs[i] ? this.value(node.inputs[i]!) : undefined);
    switch (node.op) {
      case "Constant": {
        const a = attrs.value ?? attrs.value_int ?? attrs.value_ints;
        if (!a || Object.keys(attrs).length !== 1) return undefined;
        if (a.type === "int") return { scalar: true, dims: [known(a.value)] };
        if (a.type === "ints") return { scalar: false, dims: a.value.map(known) };
        const value = a.type === "tensor" ? this.graph.valuesOf(a.value) : undefined;
        return value ? fromConstant(value) : undefined;
      }
      case "Shape": {
        const dims = only() ? this.graph.shapeOf(node.inputs[0]!) : undefined;
        return dims ? { scalar: false, dims } : undefined;
      }
      case "Cast":
        return only("to") && (intAttr("to", 0) === 7 || intAttr("to", 0) === 6) ? input(0) : undefined;
      case "Gather": {
        const [data, index] = [input(0), input(1)];
        if (!only("axis") || intAttr("axis", 0) !== 0 || !data || data.scalar || !index) return undefined;
        const picked = index.dims.map((i) => (i.syms.length === 0 ? data.dims.at(i.coef) : undefined));
        return picked.every((d) => d !== undefined) ? { scalar: index.scalar, dims: picked as Dim[] } : undefined;
      }
      case "Unsqueeze": {
        const axes = attrs.axes?.type === "ints" ? attrs.axes.value : node.inputs[1] ? this.value(node.inputs[1])?.dims.map((d) => d.coef) : undefined;
        const x = input(0);
        return only("axes") && x?.scalar && axes?.length === 1 && (axes[0] === 0 || axes[0] === -1) ? { scalar: false, dims: x.dims } : undefined;
      }
      case "Concat": {
        if (!only("axis") || intAttr("axis", NaN) !== 0) return undefined;
        const parts = node.inputs.map((n) => this.value(n));
        return parts.every((p) => p && !p.scalar) ? { scalar: false, dims: parts.flatMap((p) => p!.dims) } : undefined;
      }
      case "Add":
      case "Sub":
      case "Mul":
      case "Div": {
        const [a, b] = [input(0), input(1)];
        if (!only() || !a || !b) return undefined;
        const n = Math.max(a.dims.length, b.dims.length);
        if ((a.dims.length !== n && a.dims.length !== 1) || (b.dims.length !== n && b.dims.length !== 1)) return undefined;
        const dims = Array.from({ length: n }, (_, i) => combine(node.op, a.dims[a.dims.length === 1 ? 0 : i]!, b.dims[b.dims.length === 1 ? 0 : i]!));
        return dims.every((d) => d !== undefined) ? { scalar: a.scalar && b.scalar, dims: dims as Dim[] } : undefined;
      }
      case "ConstantOfShape": {
        // A known-length vector filled with an integer (exporters build Expand shapes this way).
        const shape = input(0);
        const fill = attrs.value?.type === "tensor" ? this.graph.valuesOf(attrs.value.value) : undefined;
        const n = shape?.dims.length === 1 && shape.dims[0]!.syms.length === 0 ? shape.dims[0]!.coef : -1;
        if (!only("value") || n < 0 || !fill || !/^int/.test(fill.dtype) || fill.values.length !== 1) return undefined;
        return { scalar: false, dims: Array.from({ length: n }, () => known(fill.values[0]!)) };
      }
      case "Equal": {
        const [a, b] = [input(0), input(1)];
        // Known sizes only: two different named sizes may still be equal at run time.
        const knownOnly = (v: SymValue) => v.dims.every((d) => d.syms.length === 0);
        if (!only() || !a || !b || a.dims.length !== b.dims.length || !knownOnly(a) || !knownOnly(b)) return undefined;
        return { scalar: a.scalar && b.scalar, dims: a.dims.map((d, i) => known(sameDim(d, b.dims[i]!) ? 1 : 0)) };
      }
      case "Where": {
        const [c, a, b] = [input(0), input(1), input(2)];
        if (!only() || !c || !a || !b || c.dims.some((d) => d.syms.length > 0)) return undefined;
        if (a.dims.length !== c.dims.length || b.dims.length !== c.dims.length) return undefined;
        return { scalar: c.scalar, dims: c.dims.map((d, i) => (d.coef ? a.dims[i]! : b.dims[i]!)) };
      }
      default:
        return undefined;
    }
  }
}

function fromConstant(value: ConstantValue): SymValue | undefined {
  if (!/^u?int/.test(value.dtype) || value.shape.length > 1) return undefined;
  return { scalar: value.shape.length === 0, dims: value.values.map(known) };
}
