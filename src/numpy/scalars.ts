import type { JsonValue } from "../tensor/checkpoint.js";

/**
 * The value of a numpy scalar's bytes (`numpy.core.multiarray.scalar(dtype, bytes)`) as JSON:
 * non-finite floats as their names ("NaN", "Infinity"), 64-bit integers past 2^53 as decimal
 * strings. Undefined when the typestr is not a plain number or the byte count does not match it.
 */
export function numpyScalarJson(typestr: string, bigEndian: boolean, bytes: Uint8Array): JsonValue | undefined {
  const little = !bigEndian;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const t = typestr;
  const num = (v: number) => (Number.isFinite(v) ? v : String(v));
  if (t === "f8" && n === 8) return num(view.getFloat64(0, little));
  if (t === "f4" && n === 4) return num(view.getFloat32(0, little));
  if (t === "i8" && n === 8) return bigintJson(view.getBigInt64(0, little));
  if (t === "u8" && n === 8) return bigintJson(view.getBigUint64(0, little));
  if (t === "i4" && n === 4) return view.getInt32(0, little);
  if (t === "u4" && n === 4) return view.getUint32(0, little);
  if (t === "i2" && n === 2) return view.getInt16(0, little);
  if (t === "u2" && n === 2) return view.getUint16(0, little);
  if (t === "i1" && n === 1) return view.getInt8(0);
  if (t === "u1" && n === 1) return view.getUint8(0);
  if ((t === "b1" || t === "?") && n === 1) return bytes[0] !== 0;
  return undefined;
}

function bigintJson(v: bigint): JsonValue {
  return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
}
