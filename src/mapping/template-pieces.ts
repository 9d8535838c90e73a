import { applyTransform, type Lazy, type TransformContext } from "./transforms.js";
import { assemble, type Piece } from "./inverse.js";
import { combine } from "./combine.js";
import type { Combine, Transform } from "./types.js";

// Two things a preset does reading a template that running it backwards must undo besides the
// transforms of inverse.ts: a `combine` that concatenated several template tensors into one
// weight (TFLite's four per-gate LSTM tensors → torch's weight_ih_l0), and an output filled with
// zeros because the template framework has one tensor where the other has a pair that the layer
// adds (TFLite's and Keras' one LSTM bias → torch's bias_ih + bias_hh, bias_hh zero).

const isZeroFill = (transforms: readonly Transform[]) => transforms.length === 1 && transforms[0]!.op === "fill" && transforms[0]!.value === 0;

/**
 * The tensor of `shape` whose forward transforms give `pieces`, where a piece the preset filled
 * with zeros is the partner of a pair the layer sums: its values are added to what the others build.
 */
export function assembleSummed(shape: readonly number[], pieces: readonly Piece[], ctx: TransformContext): Lazy | undefined {
  const partners = pieces.filter((p) => isZeroFill(p.transforms));
  if (partners.length === pieces.length) return undefined;
  const built = assemble(
    shape,
    pieces.filter((p) => !isZeroFill(p.transforms)),
    ctx,
  );
  if (!built || partners.length === 0) return built;
  const same = (t: Lazy) => t.dtype === built.dtype && t.shape.length === built.shape.length && t.shape.every((d, i) => d === built.shape[i]);
  if (!partners.every((p) => same(p.tensor))) return undefined;
  return combine([built, ...partners.map((p) => p.tensor)], { with: [], op: "sum" }, ctx.tensor).tensor;
}

/** The shape the preset's `combine` gave `members` (undefined for a combination it cannot undo). */
export function combinedShape(members: readonly (readonly number[])[], spec: Combine | undefined): number[] | undefined {
  if (members.length === 1) return [...members[0]!];
  if (spec?.op !== "concat") return undefined;
  const axis = spec.axis ?? 0;
  const first = members[0]!;
  // Equal blocks only: each member is then one chunk of the whole.
  if (axis < 0 || axis >= first.length || members.some((m) => m.length !== first.length || m.some((d, i) => d !== first[i]))) return undefined;
  const shape = [...first];
  shape[axis] = first[axis]! * members.length;
  return shape;
}

/** `whole` cut back into the `count` equal blocks along `axis` the preset concatenated. */
export function splitCombined(whole: Lazy, count: number, spec: Combine | undefined, ctx: TransformContext): Lazy[] {
  if (count === 1) return [whole];
  const axis = spec?.axis ?? 0;
  return Array.from({ length: count }, (_, index) => applyTransform(whole, { op: "chunk", axis, chunks: count, index }, ctx)!.tensor);
}
