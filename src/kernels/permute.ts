import { WeightbridgeError } from "../errors.js";
import { batchedTranspose, normalizePermutation } from "./permute-plan.js";
import { transposeJs } from "./transpose-js.js";
import { transposeWasm } from "./wasm/transpose-wasm.js";

// Layout changes on raw element bytes. Elements are moved as opaque words, never as numbers,
// so every bit pattern (NaN payloads, bfloat16, bool, complex) survives exactly.

/** Below this many bytes the JS kernel transposes: they break even at 1 KiB, WASM is 2.4× faster at 4 KiB. */
export const WASM_PERMUTE_MIN_BYTES = 1024;

/** True when `perm` only moves size-1 axes around, so the bytes stay as they are. */
export function isTrivialPermutation(shape: readonly number[], perm: readonly number[]): boolean {
  const moved = perm.filter((axis) => shape[axis] !== 1);
  return moved.every((axis, i) => i === 0 || axis > moved[i - 1]!);
}

/**
 * numpy's `transpose(perm)` of a contiguous row-major tensor, made contiguous again:
 * output axis i is input axis perm[i]. Returns `bytes` itself when the layout does not change.
 */
export function permuteBytes(bytes: Uint8Array, shape: readonly number[], elemSize: number, perm: readonly number[]): Uint8Array {
  if (bytes.byteLength === 0 || isTrivialPermutation(shape, perm)) return bytes;
  const out = new Uint8Array(bytes.byteLength);
  permuteInto(bytes, out, shape, elemSize, perm);
  return out;
}

/** permuteBytes() into `out` (same length as `bytes`, not overlapping it): callers pass recycled buffers. */
export function permuteInto(bytes: Uint8Array, out: Uint8Array, shape: readonly number[], elemSize: number, perm: readonly number[]): void {
  if (out.byteLength !== bytes.byteLength) {
    throw new WeightbridgeError("usage", `permute output holds ${out.byteLength} bytes, the input ${bytes.byteLength}`);
  }
  if (bytes.byteLength === 0) return;
  const p = normalizePermutation(shape, perm, elemSize);
  if (p.shape.length === 0) out.set(bytes);
  else if (bytes.byteLength < WASM_PERMUTE_MIN_BYTES || !transposeWasm(bytes, out, p)) {
    transposeJs(bytes, out, batchedTranspose(p.shape, p.perm), p.elementSize);
  }
}
