import type { Tensor } from "../tensor/tensor.js";
import type { KindInfo } from "./types.js";

/** A tensor on its way through the mapping, with everything the report needs to say about it. */
export interface Tracked {
  tensor: Tensor;
  /** The source tensors it was made from (several when a rule combined them; none when added). */
  sources: string[];
  /** The source tensor's dtype and shape (of the first source). */
  sourceDtype: Tensor["dtype"];
  sourceShape: number[];
  transforms: string[];
  /** Ids of the rules that applied, in order. */
  rules: string[];
  /** True once any rule matched it. */
  matched: boolean;
  /** The exhaustive rule set (preset) that had no rule for it. */
  unmatchedBy?: string;
  kind?: KindInfo;
  heuristics: string[];
  /** How a template entry was found for it. */
  matchedBy?: string;
  /** Made by an `add` rule, not from a source tensor. */
  added?: boolean;
}

export function track(tensor: Tensor): Tracked {
  return {
    tensor,
    sources: [tensor.name],
    sourceDtype: tensor.dtype,
    // Shapes are never changed in place (a transform makes a new tensor): shared, not copied per tensor.
    sourceShape: tensor.shape,
    transforms: [],
    rules: [],
    matched: false,
    heuristics: [],
  };
}
