import type { Tensor } from "../../tensor/tensor.js";
import { wholeParam, type Param } from "../params.js";
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

export function shaped(node: KerasNode, x: Value, features: number, what: string): void {
  if (x.shape[x.shape.length - 1] !== features)
    throw new Disagreement(`layer ${node.name} (${what}) takes ${features} features, its input has shape [${x.shape.slice(1).join(",")}]`);
}
