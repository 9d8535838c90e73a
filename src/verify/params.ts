import type { Tensor } from "../tensor/tensor.js";
import type { DType } from "../tensor/dtype.js";
import { dtypeSize, numelOf } from "../tensor/dtype.js";
import { elementReader, hasNumericAccess } from "../kernels/elements.js";
import { WeightbridgeError } from "../errors.js";
import { Disagreement } from "./disagreement.js";

// A layer's parameters as numbers, read lazily: a reference layer asks for elements by flat
// index. Small tensors are read whole; for big ones a first "recording" run of the layer notes
// which elements it touches, and only those are fetched (coalesced byte ranges when the data
// can be read by range, else one streaming pass that keeps just those elements).

export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  at(i: number): number;
  /** All elements, when read whole as float32/float64 (a fast path for the reference loops). */
  readonly values?: Float32Array | Float64Array;
}

/** Tensors above this many bytes are fetched element by element as the layer needs them. */
export const WHOLE_READ_LIMIT = 1 << 20;

export class NotCheckable extends Error {}

function checkNumeric(t: Tensor): void {
  if (!hasNumericAccess(t.dtype)) throw new NotCheckable(`${t.name}: ${t.dtype} values cannot be computed with`);
}

/** A parameter that records the elements asked for and answers 0.5 (never NaN: a plausible value). */
export function recordingParam(t: Tensor, touched: Set<number>): Param {
  checkNumeric(t);
  return { name: t.name, shape: t.shape, dtype: t.dtype, at: (i) => (touched.add(i), 0.5) };
}

/** Read by pieces past this size: some readers' whole read() of a big tensor is several times slower than its chunks. */
const READ_PIECE = 4 << 20;

/** All of a tensor's bytes: read into one buffer when the data can, else assembled from its chunks when it is big. */
export async function wholeBytes(t: Tensor): Promise<Uint8Array> {
  if (t.data.byteLength <= READ_PIECE) return t.data.read();
  const out = new Uint8Array(t.data.byteLength);
  if (t.data.readInto) {
    await t.data.readInto(out);
    return out;
  }
  let at = 0;
  for await (const chunk of t.data.chunks(READ_PIECE)) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== out.byteLength) throw new Disagreement(`${t.name} gave ${at} of its ${out.byteLength} bytes`);
  return out;
}

export async function wholeParam(t: Tensor): Promise<Param> {
  checkNumeric(t);
  return paramOf(t, await wholeBytes(t));
}

/** A parameter over all of `t`'s bytes, already in memory (a view of them when they are aligned). */
export function paramOf(t: Tensor, bytes: Uint8Array): Param {
  checkNumeric(t);
  const get = elementReader(t.dtype, bytes);
  const n = bytes.byteLength / dtypeSize(t.dtype);
  return {
    name: t.name,
    shape: t.shape,
    dtype: t.dtype,
    values: floatValues(t.dtype, bytes),
    at(i) {
      if (!(i >= 0 && i < n)) throw new Disagreement(`${t.name} [${t.shape.join(",")}] has no element ${i}: its shape does not fit the layer`);
      return get(i);
    },
  };
}

function floatValues(dtype: DType, bytes: Uint8Array): Float32Array | Float64Array | undefined {
  const size = dtype === "float32" ? 4 : dtype === "float64" ? 8 : 0;
  if (!size) return undefined;
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return size === 4
    ? new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4)
    : new Float64Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 8);
}

/** Only the `needed` elements of `t`; asking for another one is a bug in the caller. */
export async function gatheredParam(t: Tensor, needed: ReadonlySet<number>): Promise<Param> {
  checkNumeric(t);
  const size = dtypeSize(t.dtype);
  const indices = [...needed].sort((a, b) => a - b);
  const values = new Map<number, number>();
  const ranges = coalesce(indices, size);
  const rangeBytes = ranges.reduce((n, r) => n + r.end - r.start, 0);
  // Many small reads cost more than one pass over the tensor once there are thousands of them.
  const readRange = t.data.readRange?.bind(t.data);
  if (readRange && ranges.length <= 4096 && rangeBytes < t.data.byteLength / 2) {
    // A few reads at a time: their latency overlaps.
    for (let at = 0; at < ranges.length; at += 16) {
      const batch = ranges.slice(at, at + 16);
      const pieces = await Promise.all(batch.map((r) => readRange(r.start, r.end)));
      batch.forEach((r, b) => {
        const get = elementReader(t.dtype, pieces[b]!);
        for (let k = r.first; k < r.last; k++) values.set(indices[k]!, get((indices[k]! * size - r.start) / size));
      });
    }
  } else {
    await streamGather(t, indices, size, values);
  }
  return {
    name: t.name,
    shape: t.shape,
    dtype: t.dtype,
    at(i) {
      const v = values.get(i);
      if (v === undefined) throw new Error(`verify: element ${i} of ${t.name} was not gathered`);
      return v;
    },
  };
}

interface Range {
  start: number;
  end: number;
  /** indices[first..last) fall in this range. */
  first: number;
  last: number;
}

function coalesce(indices: readonly number[], size: number): Range[] {
  const out: Range[] = [];
  // Reading a gap costs less than another read, up to a point.
  const gap = 64 << 10;
  indices.forEach((index, k) => {
    const start = index * size;
    const prev = out[out.length - 1];
    if (prev && start - prev.end <= gap) {
      prev.end = start + size;
      prev.last = k + 1;
    } else out.push({ start, end: start + size, first: k, last: k + 1 });
  });
  return out;
}

async function streamGather(t: Tensor, indices: readonly number[], size: number, values: Map<number, number>): Promise<void> {
  let at = 0; // byte offset of the current chunk
  let k = 0;
  let carry = new Uint8Array(0);
  for await (const piece of t.data.chunks(16 << 20)) {
    const chunk = carry.byteLength ? concat(carry, piece) : piece;
    const base = at - carry.byteLength;
    const whole = Math.floor(chunk.byteLength / size) * size;
    const get = elementReader(t.dtype, chunk.subarray(0, whole));
    while (k < indices.length && indices[k]! * size + size <= base + whole) {
      values.set(indices[k]!, get((indices[k]! * size - base) / size));
      k++;
    }
    carry = chunk.slice(whole);
    at += piece.byteLength;
    if (k === indices.length) break;
  }
  if (k < indices.length) throw new WeightbridgeError("truncated", `tensor data ended before element ${indices[k]}`, { tensor: t.name });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

export function isBig(t: Tensor): boolean {
  return t.data.byteLength > WHOLE_READ_LIMIT;
}

export function numel(t: { shape: readonly number[] }): number {
  return numelOf(t.shape as number[]);
}
