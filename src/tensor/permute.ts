import { numelOf } from "./dtype.js";
import { transpose2d } from "./strided.js";

// Layout changes on raw element bytes. Elements are moved as opaque words, never as numbers,
// so every bit pattern (NaN payloads, bfloat16, bool, complex) survives exactly.

type Words = Uint8Array | Uint16Array | Uint32Array;

/** Views element bytes as the widest word type that divides the element size (copying if unaligned). */
function asWords(bytes: Uint8Array, elemSize: number): { words: Words; perElem: number } {
  const width = elemSize % 4 === 0 ? 4 : elemSize % 2 === 0 ? 2 : 1;
  let b = bytes;
  if (width > 1 && b.byteOffset % width !== 0) b = b.slice();
  const words =
    width === 4 ? new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4)
    : width === 2 ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2)
    : b;
  return { words, perElem: elemSize / width };
}

function newWords(like: Words, length: number): Words {
  if (like instanceof Uint32Array) return new Uint32Array(length);
  if (like instanceof Uint16Array) return new Uint16Array(length);
  return new Uint8Array(length);
}

function wordBytes(words: Words): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** True when `perm` only moves size-1 axes around, so the bytes stay as they are. */
export function isTrivialPermutation(shape: readonly number[], perm: readonly number[]): boolean {
  const moved = perm.filter((axis) => shape[axis] !== 1);
  return moved.every((axis, i) => i === 0 || axis > moved[i - 1]!);
}

/**
 * numpy's `transpose(perm)` of a contiguous row-major tensor, made contiguous again:
 * output axis i is input axis perm[i].
 */
export function permuteBytes(bytes: Uint8Array, shape: readonly number[], elemSize: number, perm: readonly number[]): Uint8Array {
  const count = numelOf(shape);
  if (count === 0 || isTrivialPermutation(shape, perm)) return bytes;
  // Linear weights: the common case gets the cache-blocked kernel.
  if (shape.length === 2 && perm[0] === 1 && perm[1] === 0) return transpose2d(bytes, shape[0]!, shape[1]!, elemSize);
  const { words, perElem } = asWords(bytes, elemSize);
  // Element strides in words; the element's own words become a last axis of stride 1.
  const inStrides: number[] = new Array(shape.length);
  let acc = perElem;
  for (let i = shape.length - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= shape[i]!;
  }
  const outShape = [...perm.map((a) => shape[a]!), perElem];
  const strides = [...perm.map((a) => inStrides[a]!), 1];
  const out = newWords(words, words.length);
  const rank = outShape.length;
  const inner = outShape[rank - 1]!;
  const innerStride = strides[rank - 1]!;
  const index = new Array<number>(rank - 1).fill(0);
  let base = 0;
  let o = 0;
  const total = words.length;
  while (o < total) {
    if (innerStride === 1) {
      out.set(words.subarray(base, base + inner), o);
      o += inner;
    } else {
      for (let j = 0, s = base; j < inner; j++, s += innerStride) out[o++] = words[s]!;
    }
    // Odometer over the outer axes.
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      base += strides[d]!;
      if (index[d]! < outShape[d]!) break;
      base -= strides[d]! * outShape[d]!;
      index[d] = 0;
    }
  }
  return wordBytes(out);
}
