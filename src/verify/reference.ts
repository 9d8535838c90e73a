import type { Tensor } from "../tensor/tensor.js";
import { CONVENTIONS } from "../vocabulary/conventions.js";
import type { Param } from "./params.js";
import { Disagreement } from "./disagreement.js";

// What every reference layer provides. A layer is seen from one framework at a time: its tensors
// by their role in that framework (`weight`, `kernel`, `lstm_cell/recurrent_kernel`, ONNX `W#0`)
// and the attributes the file gave it. Both sides of a conversion get the same canonical input;
// each side lays it out as its framework does, computes, and hands back a canonical output.

export type Which = "source" | "target";

export type { Framework } from "../tensor/layer-kinds.js";
import type { Framework } from "../tensor/layer-kinds.js";

export interface LayerSide<T> {
  framework: Framework;
  /** Tensors by role in their framework; ordered as the file holds them. */
  roles: Map<string, T>;
  attributes: Record<string, unknown>;
}

export interface Reference<P> {
  /** Layer kinds (canonical names of src/mapping/kinds.ts) this reference computes. */
  readonly kinds: readonly string[];
  /** Sizes and samples, from the source side's shapes; checks the target's shapes fit. */
  plan(source: LayerSide<Tensor>, target: LayerSide<Tensor>, random: () => number): P;
  input(plan: P, random: () => number): Float64Array;
  /** One side's output; `which` says whether it is the source or the converted side. */
  forward(side: LayerSide<Param>, plan: P, input: Float64Array, which: Which): Float64Array;
  /** Remarks for the row (assumed ε, sampled outputs ...). */
  notes?(plan: P): string[];
}

export { Disagreement } from "./disagreement.js";

export function role<T>(side: LayerSide<T>, ...names: string[]): T | undefined {
  for (const n of names) {
    const v = side.roles.get(n);
    if (v !== undefined) return v;
  }
  return undefined;
}

export function required<T>(side: LayerSide<T>, what: string, ...names: string[]): T {
  const v = role(side, ...names);
  if (v === undefined)
    throw new Disagreement(`${side.framework} side has no ${what} (${names.join(" or ")}); it has ${[...side.roles.keys()].join(", ") || "nothing"}`);
  return v;
}

export function shapeOf(t: Tensor | Param): readonly number[] {
  return t.shape;
}

export function numberAttr(attrs: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = attrs[n];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Keras stores activations as channels-last unless the layer's data_format says otherwise. */
export function channelsLast(side: LayerSide<unknown>): boolean {
  return CONVENTIONS[side.framework].dataFormatAttribute && side.attributes.data_format !== "channels_first";
}
