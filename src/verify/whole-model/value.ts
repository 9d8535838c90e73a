import type { Tensor } from "../../tensor/tensor.js";
import { paramOf, wholeParam, type Param } from "../params.js";
import { borrowBytes } from "../../kernels/borrow.js";
import { Disagreement, type LayerSide } from "../reference.js";
import type { KerasNode } from "./keras-graph.js";

/** A tensor flowing through a composed Keras model: batch first, Keras' (channels-last) layout. */
export interface Value {
  shape: number[];
  data: Float64Array;
}

export { product } from "../reference.js";

/** A layer's tensors read whole (a composed model computes every output). */
export async function loadedSide(side: LayerSide<Tensor>): Promise<LayerSide<Param>> {
  const roles = new Map<string, Param>();
  for (const [r, t] of side.roles) roles.set(r, await wholeParam(t));
  return { ...side, roles };
}

/**
 * Runs `use` on a layer's tensors read whole, in recycled memory when the data reads into a
 * caller's buffer (faulting in fresh memory for each big weight cost more than reading it on this
 * VM). The parameters are valid only while `use` runs; it must not keep them.
 */
export async function withLoadedSide<T>(side: LayerSide<Tensor>, use: (loaded: LayerSide<Param>) => T | Promise<T>): Promise<T> {
  const entries = [...side.roles];
  const roles = new Map<string, Param>();
  const load = async (i: number): Promise<T> => {
    if (i === entries.length) return use({ ...side, roles });
    const [role, t] = entries[i]!;
    if (!t.data.readInto) {
      roles.set(role, await wholeParam(t));
      return load(i + 1);
    }
    return borrowBytes(t.data, (bytes) => {
      roles.set(role, paramOf(t, bytes));
      return load(i + 1);
    });
  };
  return load(0);
}

export function shaped(node: KerasNode, x: Value, features: number, what: string): void {
  if (x.shape[x.shape.length - 1] !== features)
    throw new Disagreement(`layer ${node.name} (${what}) takes ${features} features, its input has shape [${x.shape.slice(1).join(",")}]`);
}

/** Flat index in `shape` of multi-index `at`. */
export function flat(at: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + at[d]!;
  return i;
}

export function unflat(i: number, shape: readonly number[]): number[] {
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    at[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return at;
}
