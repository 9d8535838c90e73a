import type { DType } from "../tensor/dtype.js";
import { castBytes, castInto } from "../kernels/cast.js";

/**
 * float16/bfloat16 ↔ float32 for files that can only hold float32 (see h5-data.ts). Both ways are
 * exact for every value, NaN payloads included, so a round trip gives back the same bits.
 * Widening writes into `into` (at least twice the input's length) when given.
 * bool rides along as uint8 and needs no conversion.
 */
export function widenToFloat32(bytes: Uint8Array, from: DType, into?: Uint8Array): Uint8Array {
  const n = bytes.byteLength >> 1;
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = into ? into.subarray(0, n * 4) : new Uint8Array(n * 4);
  const dst = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (from === "bfloat16") {
    for (let i = 0; i < n; i++) dst.setUint32(i * 4, src.getUint16(i * 2, true) << 16, true);
    return out;
  }
  castInto(bytes, out, "float16", "float32");
  for (let i = 0; i < n; i++) {
    const h = src.getUint16(i * 2, true);
    // NaN: keep sign and payload (castInto canonicalises NaNs).
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) dst.setUint32(i * 4, (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0, true);
  }
  return out;
}

/** Inverse of widenToFloat32 (exact when the float32 values came from `to`). */
export function narrowFromFloat32(bytes: Uint8Array, to: DType): Uint8Array {
  if (to === "bool") return bytes;
  const n = bytes.byteLength >> 2;
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (to === "bfloat16") {
    const out = new Uint8Array(n * 2);
    const dst = new DataView(out.buffer);
    for (let i = 0; i < n; i++) dst.setUint16(i * 2, src.getUint32(i * 4, true) >>> 16, true);
    return out;
  }
  const out = castBytes(bytes, "float32", "float16");
  const dst = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < n; i++) {
    const f = src.getUint32(i * 4, true);
    if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) {
      const payload = (f >>> 13) & 0x3ff;
      dst.setUint16(i * 2, ((f >>> 16) & 0x8000) | 0x7c00 | (payload === 0 ? 0x200 : payload), true);
    }
  }
  return out;
}
