// Any permutation of a contiguous tensor, reduced to its simplest equivalent: size-1 axes dropped,
// axes that stay neighbours in the same order merged, and a trailing axis that stays last folded
// into the element. What is left is a batch of 2-D strided transposes, the one shape the kernels
// (JS and WebAssembly) know.

/** A permutation with no size-1 axes and no two input axes that could be merged. */
export interface NormalPermutation {
  /** Input shape. */
  shape: number[];
  /** Output axis i is input axis perm[i]. */
  perm: number[];
  /** Bytes per element, including any folded trailing axis. */
  elementSize: number;
}

/**
 * `dst[c·dstStride + r] = src[r·srcStride + c]` for r < rows, c < cols (element indices), once
 * for every index of the batch axes, each of which moves both bases by its strides.
 */
export interface BatchedTranspose {
  rows: number;
  cols: number;
  srcStride: number;
  dstStride: number;
  batch: { size: number; srcStride: number; dstStride: number }[];
}

export function normalizePermutation(shape: readonly number[], perm: readonly number[], elementSize: number): NormalPermutation {
  // Drop size-1 axes, renumbering the rest.
  const kept = shape.map((_, axis) => axis).filter((axis) => shape[axis] !== 1);
  const renumber = new Map(kept.map((axis, i) => [axis, i]));
  const order = perm.filter((axis) => shape[axis] !== 1).map((axis) => renumber.get(axis)!);
  // Runs of output axes that are consecutive input axes become one axis.
  const runs: number[][] = [];
  for (const axis of order) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === axis - 1) last.push(axis);
    else runs.push([axis]);
  }
  const byInputOrder = [...runs].sort((a, b) => a[0]! - b[0]!);
  const sizes = byInputOrder.map((run) => run.reduce((n, axis) => n * shape[kept[axis]!]!, 1));
  const newAxis = new Map(byInputOrder.map((run, i) => [run, i]));
  let merged = runs.map((run) => newAxis.get(run)!);
  let size = elementSize;
  // The innermost input axis staying innermost: whole rows move together, as wider elements.
  if (merged.length > 0 && merged[merged.length - 1] === sizes.length - 1) {
    size *= sizes.pop()!;
    merged = merged.slice(0, -1);
  }
  return { shape: sizes, perm: merged, elementSize: size };
}

function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i]!;
  }
  return strides;
}

/** The batched 2-D transpose that performs a normalized permutation of rank ≥ 2. */
export function batchedTranspose(shape: readonly number[], perm: readonly number[]): BatchedTranspose {
  const rank = shape.length;
  const srcStrides = rowMajorStrides(shape);
  const outStrides = rowMajorStrides(perm.map((axis) => shape[axis]!));
  const dstStrides = new Array<number>(rank);
  perm.forEach((axis, i) => (dstStrides[axis] = outStrides[i]!));
  // Rows run along the output's innermost axis (contiguous in dst), columns along the input's.
  const rowAxis = perm[rank - 1]!;
  const colAxis = rank - 1;
  const batch = [];
  for (let axis = 0; axis < rank; axis++) {
    if (axis !== rowAxis && axis !== colAxis) batch.push({ size: shape[axis]!, srcStride: srcStrides[axis]!, dstStride: dstStrides[axis]! });
  }
  return { rows: shape[rowAxis]!, cols: shape[colAxis]!, srcStride: srcStrides[rowAxis]!, dstStride: dstStrides[colAxis]!, batch };
}

/** Calls `each(srcBase, dstBase)` for every index of the batch axes (element offsets). */
export function forEachBatch(plan: BatchedTranspose, each: (srcBase: number, dstBase: number) => void): void {
  const { batch } = plan;
  const index = new Array<number>(batch.length).fill(0);
  let src = 0;
  let dst = 0;
  for (;;) {
    each(src, dst);
    let d = batch.length - 1;
    for (; d >= 0; d--) {
      const axis = batch[d]!;
      src += axis.srcStride;
      dst += axis.dstStride;
      if (++index[d]! < axis.size) break;
      src -= axis.srcStride * axis.size;
      dst -= axis.dstStride * axis.size;
      index[d] = 0;
    }
    if (d < 0) return;
  }
}
