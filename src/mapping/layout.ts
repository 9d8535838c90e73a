import { numelOf } from "../tensor/dtype.js";

// Block moves on raw element bytes (reorder, split, concatenate along an axis): elements move as
// opaque bytes, so every bit pattern survives exactly.

/** Splits a shape at `axis` into (outer elements, axis size, inner elements). */
function around(shape: readonly number[], axis: number): { outer: number; size: number; inner: number } {
  return { outer: numelOf(shape.slice(0, axis)), size: shape[axis]!, inner: numelOf(shape.slice(axis + 1)) };
}

/** Reorders `count` equal blocks along `axis`: output block i is input block order[i]. */
export function reorderBlocks(bytes: Uint8Array, shape: readonly number[], elemSize: number, axis: number, order: readonly number[]): Uint8Array {
  const { outer, size, inner } = around(shape, axis);
  const block = (size / order.length) * inner * elemSize;
  const row = size * inner * elemSize;
  const out = new Uint8Array(bytes.byteLength);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < order.length; i++) {
      const from = o * row + order[i]! * block;
      out.set(bytes.subarray(from, from + block), o * row + i * block);
    }
  }
  return out;
}

/** Block `index` of `chunks` equal blocks along `axis`. */
export function chunkBytes(bytes: Uint8Array, shape: readonly number[], elemSize: number, axis: number, chunks: number, index: number): Uint8Array {
  const { outer, size, inner } = around(shape, axis);
  const block = (size / chunks) * inner * elemSize;
  const row = size * inner * elemSize;
  if (outer === 1) return bytes.subarray(index * block, (index + 1) * block);
  const out = new Uint8Array(outer * block);
  for (let o = 0; o < outer; o++) out.set(bytes.subarray(o * row + index * block, o * row + (index + 1) * block), o * block);
  return out;
}

/** Concatenates tensors (same shape except along `axis`) along `axis`. */
export function concatBytes(parts: ReadonlyArray<{ bytes: Uint8Array; shape: readonly number[] }>, elemSize: number, axis: number): Uint8Array {
  const outer = numelOf(parts[0]!.shape.slice(0, axis));
  const rows = parts.map((p) => numelOf(p.shape.slice(axis)) * elemSize);
  const rowTotal = rows.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(outer * rowTotal);
  for (let o = 0; o < outer; o++) {
    let at = o * rowTotal;
    parts.forEach((p, k) => {
      out.set(p.bytes.subarray(o * rows[k]!, (o + 1) * rows[k]!), at);
      at += rows[k]!;
    });
  }
  return out;
}
