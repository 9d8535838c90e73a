import { Buffer } from "node:buffer";

/**
 * Byte comparisons for tests. vitest's toEqual walks a typed array element by element through
 * its generic equality (81 s for a 9.4 MB Uint8Array on a loaded machine); Buffer.equals is a
 * memcmp. A mismatch is described by its first differing offset, never by a diff of megabytes.
 */

export function isByteComparable(value: unknown): value is ArrayBufferView {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

function asBuffer(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

function kind(view: ArrayBufferView): string {
  return Object.prototype.toString.call(view).slice(8, -1);
}

/** undefined when equal; otherwise what differs first (length, element type or byte offset). */
export function byteDifference(got: ArrayBufferView, want: ArrayBufferView): string | undefined {
  const a = asBuffer(got);
  const b = asBuffer(want);
  if (a.equals(b)) {
    // As toEqual: a Buffer is a Uint8Array, a Float32Array is not one.
    const [gotType, wantType] = [kind(got), kind(want)];
    return gotType === wantType ? undefined : `a ${gotType} where a ${wantType} was expected (same bytes)`;
  }
  const common = Math.min(a.byteLength, b.byteLength);
  // Narrow down by halves with memcmp, then step bytes: finding the offset stays fast too.
  let lo = 0;
  let hi = common;
  while (hi - lo > 64) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (a.subarray(lo, mid).equals(b.subarray(lo, mid))) lo = mid;
    else hi = mid;
  }
  let offset = lo;
  while (offset < common && a[offset] === b[offset]) offset++;
  const lengths = a.byteLength === b.byteLength ? `${a.byteLength} bytes` : `${a.byteLength} bytes, expected ${b.byteLength}`;
  if (offset === common) return `${lengths}: the shorter one is a prefix of the other`;
  const hex = (buf: Buffer) => buf.subarray(offset, offset + 8).toString("hex");
  return `${lengths}: first difference at byte offset ${offset}: got ${hex(a)}…, expected ${hex(b)}…`;
}

/** Throws (a plain assertion failure) unless both views hold the same bytes. */
export function expectSameBytes(got: ArrayBufferView, want: ArrayBufferView, label?: string): void {
  const difference = byteDifference(got, want);
  if (difference !== undefined) throw new Error(`${label ? `${label}: ` : ""}${difference}`);
}
