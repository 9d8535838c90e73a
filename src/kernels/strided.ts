import { numelOf } from "../tensor/dtype.js";

/**
 * Gathers a strided view into contiguous row-major bytes. `source` holds elements of
 * `elementSize` bytes; element (i0, i1, ...) of the view is at element index
 * `offset + Σ ik·stride[k]` of `source`. Works on bytes, so any dtype's bit patterns survive.
 */
export function gatherStrided(source: Uint8Array, elementSize: number, shape: readonly number[], stride: readonly number[], offset: number): Uint8Array {
  const count = numelOf(shape);
  const out = new Uint8Array(count * elementSize);
  if (count === 0) return out;
  const rank = shape.length;
  if (rank === 0) {
    out.set(source.subarray(offset * elementSize, (offset + 1) * elementSize));
    return out;
  }
  const innerSize = shape[rank - 1]!;
  const innerStride = stride[rank - 1]!;
  const index = new Array<number>(rank - 1).fill(0);
  let outAt = 0;
  const rows = count / innerSize;
  for (let row = 0; row < rows; row++) {
    let base = offset;
    for (let k = 0; k < rank - 1; k++) base += index[k]! * stride[k]!;
    if (innerStride === 1) {
      const start = base * elementSize;
      out.set(source.subarray(start, start + innerSize * elementSize), outAt);
      outAt += innerSize * elementSize;
    } else {
      for (let j = 0; j < innerSize; j++) {
        const start = (base + j * innerStride) * elementSize;
        for (let b = 0; b < elementSize; b++) out[outAt++] = source[start + b]!;
      }
    }
    for (let k = rank - 2; k >= 0; k--) {
      if (++index[k]! < shape[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}

/** Is this view plain row-major (dimensions of size 1 may have any stride)? */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (shape[k] !== 1 && stride[k] !== expected) return false;
    expected *= shape[k]!;
  }
  return true;
}

/** The largest element index a view touches, relative to its offset (0 for empty views). */
export function viewExtent(shape: readonly number[], stride: readonly number[]): number {
  if (shape.some((d) => d === 0)) return 0;
  let extent = 0;
  for (let k = 0; k < shape.length; k++) extent += (shape[k]! - 1) * stride[k]!;
  return extent;
}

/** Reverses the byte order of each `unit`-byte group in place (big-endian storages; complex per component). */
export function byteswap(bytes: Uint8Array, unit: number): Uint8Array {
  if (unit <= 1) return bytes;
  for (let i = 0; i + unit <= bytes.length; i += unit) bytes.subarray(i, i + unit).reverse();
  return bytes;
}
