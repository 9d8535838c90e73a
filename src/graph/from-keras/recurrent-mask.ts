import { int } from "../ir.js";
import type { Lowering } from "./context.js";

// A masked recurrent layer with ONNX's own recurrent ops. Keras skips a masked step: the states
// (and, unless zero_output_for_mask, the output) carry over from the previous step. That equals
// running the unmasked steps alone, in order: so each row's unmasked steps are moved to the front
// (a stable sort), the op runs with sequence_lens = their count (the reverse direction then runs
// them backwards, as Keras' go_backwards does), and the outputs are spread back to the steps they
// belong to. Masks with holes in the middle work the same as padding at either end.

export interface CompactSteps {
  /** The input with each row's unmasked steps first, [N, T, F]. */
  x: string;
  /** Unmasked steps per row, int32 [N] (ONNX sequence_lens). */
  lengths: string;
  /** The mask, bool [N, T], and as floats. */
  mask: string;
  maskFloat: string;
}

/** Moves each row's unmasked steps of x ([N, T, F], channels-last) to the front; mask is bool [N, T]. */
export function compactSteps(lower: Lowering, x: string, mask: string): CompactSteps {
  const maskFloat = lower.op("Cast", [mask], { to: int(1) });
  const steps = lower.op("Gather", [lower.op("Shape", [mask]), lower.constant("int64", [1], [])]);
  const position = lower.op("Cast", [lower.op("Range", [lower.constant("int64", [0], []), steps, lower.constant("int64", [1], [])])], { to: int(1) });
  // Sort key: the step's position, pushed past every unmasked step when masked.
  const masked = lower.op("Sub", [lower.scalar(1), maskFloat]);
  const key = lower.op("Add", [position, lower.op("Mul", [masked, lower.op("Cast", [steps], { to: int(1) })])]);
  const k = lower.op("Reshape", [steps, lower.constant("int64", [1])]);
  const order = lower.node("TopK", [key, k], { axis: int(1), largest: int(0), sorted: int(1) }, 2)[1]!;
  const gatherIndex = lower.op("Expand", [lower.op("Unsqueeze", [order, lower.constant("int64", [2])]), lower.op("Shape", [x])]);
  return {
    x: lower.op("GatherElements", [x, gatherIndex], { axis: int(1) }),
    lengths: lower.op("Cast", [lower.op("ReduceSum", [maskFloat, lower.constant("int64", [1])], { keepdims: int(0) })], { to: int(6) }),
    mask,
    maskFloat,
  };
}

/**
 * The recurrent op's outputs y ([N, T, D, H] over the compacted steps) put back at the steps they
 * belong to. A masked step shows the output of the last unmasked step processed before it (none:
 * zeros), or zeros with zeroOutput (Keras' zero_output_for_mask, which Bidirectional forces).
 */
export function spreadSteps(lower: Lowering, y: string, steps: CompactSteps, reverse: boolean[], zeroOutput: boolean): string {
  // Forward: the output after the step's own unmasked predecessors, counted - 1 (-1, the last
  // compacted slot, is past sequence_lens whenever a step is masked, so ONNX left zeros there).
  // Reverse: the unmasked steps run last to first, so a masked step shows the next unmasked one's.
  // Unmasked steps up to and including each step, int64 [N, T] (made here: only a layer returning sequences spreads).
  const counted = lower.op("Cast", [lower.op("CumSum", [steps.maskFloat, lower.constant("int64", [1], [])])], { to: int(7) });
  const index = (r: boolean) =>
    r ? lower.op("Sub", [counted, lower.op("Cast", [steps.mask], { to: int(7) })]) : lower.op("Sub", [counted, lower.constant("int64", [1], [])]);
  const perDirection = reverse.map((r) => lower.op("Unsqueeze", [index(r), lower.constant("int64", [2])]));
  const stepIndex = perDirection.length === 1 ? perDirection[0]! : lower.op("Concat", perDirection, { axis: int(2) });
  const expanded = lower.op("Expand", [lower.op("Unsqueeze", [stepIndex, lower.constant("int64", [3])]), lower.op("Shape", [y])]);
  const spread = lower.op("GatherElements", [y, expanded], { axis: int(1) });
  if (!zeroOutput) return spread;
  return lower.op("Mul", [spread, lower.op("Unsqueeze", [steps.maskFloat, lower.constant("int64", [2, 3])])]);
}
