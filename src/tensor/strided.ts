import { numelOf } from "./dtype.js";

/**
 * Gathers a strided view into contiguous row-major bytes. `source` holds elements of
 * `elementSize` bytes; element (i0, i1, ...) of the view is at element index
 * `offset + Σ ik·stride[k]` of `source`. Works on bytes, so any dtype's bit patterns survive.
 */
export function gatherStrided(
  source: Uint8Array,
  elementSize: number,
  shape: readonly number[],
  stride: readonly number[],
  offset: number,
): Uint8Array {
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

const BLOCK = 64;

/**
 * The transpose of a row-major [rows, cols] matrix of `elementSize`-byte elements, as new
 * row-major [cols, rows] bytes. Cache-blocked (64×64 tiles) and done on whole 1/2/4-byte words,
 * so any dtype's bit patterns are copied exactly. Linear weights between PyTorch [out, in] and
 * Paddle/Keras [in, out] are the main customer.
 */
export function transpose2d(bytes: Uint8Array, rows: number, cols: number, elementSize: number): Uint8Array {
  const out = new Uint8Array(rows * cols * elementSize);
  if (out.byteLength === 0) return out;
  // Elements as `words` units of the widest word that divides the element size and the offset.
  const word = elementSize % 4 === 0 ? 4 : elementSize % 2 === 0 ? 2 : 1;
  const source = bytes.byteOffset % word === 0 ? bytes : bytes.slice();
  const count = (rows * cols * elementSize) / word;
  const view = (b: Uint8Array): Words =>
    word === 4 ? new Uint32Array(b.buffer, b.byteOffset, count) : word === 2 ? new Uint16Array(b.buffer, b.byteOffset, count) : b;
  const src = view(source);
  const dst = view(out);
  const words = elementSize / word;
  if (words === 1) transposeWords(src, dst, rows, cols);
  else transposeWide(src, dst, rows, cols, words);
  return out;
}

type Words = Uint8Array | Uint16Array | Uint32Array;

function transposeWords(src: Words, dst: Words, rows: number, cols: number): void {
  for (let i0 = 0; i0 < rows; i0 += BLOCK) {
    const i1 = Math.min(i0 + BLOCK, rows);
    for (let j0 = 0; j0 < cols; j0 += BLOCK) {
      const j1 = Math.min(j0 + BLOCK, cols);
      for (let i = i0; i < i1; i++) {
        let from = i * cols + j0;
        let to = j0 * rows + i;
        for (let j = j0; j < j1; j++, from++, to += rows) dst[to] = src[from]!;
      }
    }
  }
}

/** Elements of several words (float64, int64, complex): each element's words stay together. */
function transposeWide(src: Words, dst: Words, rows: number, cols: number, words: number): void {
  for (let i0 = 0; i0 < rows; i0 += BLOCK) {
    const i1 = Math.min(i0 + BLOCK, rows);
    for (let j0 = 0; j0 < cols; j0 += BLOCK) {
      const j1 = Math.min(j0 + BLOCK, cols);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) {
          const from = (i * cols + j) * words;
          const to = (j * rows + i) * words;
          for (let w = 0; w < words; w++) dst[to + w] = src[from + w]!;
        }
      }
    }
  }
}
