import { bytesData } from "../tensor/tensor.js";
import { WeightbridgeError } from "../errors.js";
import { applyTransform, type Lazy, type TransformContext } from "./transforms.js";
import { combine } from "./combine.js";
import type { Transform } from "./types.js";

// A rule output is a chain of transforms from one tensor to a piece of another framework's
// layout (ONNX LSTM W → chunk of a direction → reshape → gate reorder → torch weight_ih_l0).
// Running the chains backwards puts the pieces together again: the tensor in the rule's source
// layout, made from the target framework's tensors. Every transform a preset uses to take a
// tensor apart has an inverse here, except the ones that lose information (fill, cast).

export interface Piece {
  /** The forward transforms, from the whole tensor to this piece. */
  transforms: readonly Transform[];
  /** The piece's values (the target framework's tensor). */
  tensor: Lazy;
}

/** The shape `spec` gives a tensor of `shape`, without touching any data. */
function shapeAfter(shape: readonly number[], spec: Transform, ctx: TransformContext): number[] {
  const probe: Lazy = { dtype: "float32", shape: [...shape], data: bytesData(new Uint8Array(0)) };
  return applyTransform(probe, spec, ctx)?.tensor.shape ?? [...shape];
}

/** Undoes `spec` on `t`, giving a tensor of `shape` (the shape before `spec`); undefined when it cannot be undone. */
function undo(t: Lazy, spec: Transform, shape: readonly number[], ctx: TransformContext): Lazy | undefined {
  const apply = (inverse: Transform): Lazy => applyTransform(t, inverse, ctx)?.tensor ?? t;
  switch (spec.op) {
    case "transpose": {
      const perm: number[] = [];
      spec.perm.forEach((axis, i) => (perm[axis] = i));
      return apply({ op: "transpose", perm });
    }
    case "reshape":
      return apply({ op: "reshape", shape: [...shape] });
    case "gates": {
      const order: number[] = [];
      spec.order.forEach((from, i) => (order[from] = i));
      return apply({ op: "gates", axis: spec.axis, count: spec.count, order });
    }
    default:
      return undefined;
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const sameSpec = (a: Transform, b: Transform) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The tensor of `shape` whose forward transforms give `pieces`, or undefined when the pieces do not
 * determine it (a lossy transform, a chunk with a block nobody gives, chains that part ways
 * other than by chunks).
 */
export function assemble(shape: readonly number[], pieces: readonly Piece[], ctx: TransformContext): Lazy | undefined {
  if (pieces.length === 0) return undefined;
  if (pieces.every((p) => p.transforms.length === 0)) {
    return pieces.length === 1 && sameShape(pieces[0]!.tensor.shape, shape) ? pieces[0]!.tensor : undefined;
  }
  if (pieces.some((p) => p.transforms.length === 0)) return undefined;
  const first = pieces[0]!.transforms[0]!;
  const rest = (p: Piece): Piece => ({ transforms: p.transforms.slice(1), tensor: p.tensor });
  if (first.op === "chunk") {
    const { axis, chunks } = first;
    if (
      pieces.some(
        (p) => p.transforms[0]!.op !== "chunk" || (p.transforms[0] as typeof first).axis !== axis || (p.transforms[0] as typeof first).chunks !== chunks,
      )
    )
      return undefined;
    if (axis < 0 || axis >= shape.length || shape[axis]! % chunks !== 0) return undefined;
    const block = [...shape];
    block[axis] = shape[axis]! / chunks;
    const parts: Lazy[] = [];
    for (let index = 0; index < chunks; index++) {
      const part = assemble(block, pieces.filter((p) => (p.transforms[0] as typeof first).index === index).map(rest), ctx);
      if (!part) return undefined;
      parts.push(part);
    }
    if (parts.some((p) => p.dtype !== parts[0]!.dtype)) {
      throw new WeightbridgeError("mapping", `cannot put together pieces of dtypes ${parts.map((p) => p.dtype).join(", ")}`, { tensor: ctx.tensor });
    }
    return chunks === 1 ? parts[0] : combine(parts, { with: [], op: "concat", axis }, ctx.tensor).tensor;
  }
  if (pieces.some((p) => !sameSpec(p.transforms[0]!, first))) return undefined;
  const inner = assemble(shapeAfter(shape, first, ctx), pieces.map(rest), ctx);
  return inner && undo(inner, first, shape, ctx);
}
