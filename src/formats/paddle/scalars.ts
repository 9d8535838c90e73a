import type { JsonValue } from "../../tensor/checkpoint.js";
import type { NumpyScalar } from "../../pickle/index.js";

/** A numpy scalar (`numpy.core.multiarray.scalar(dtype, bytes)`, old LR_Scheduler values) as JSON. */
export function scalarValue(s: NumpyScalar): JsonValue | undefined {
  const bytes = s.data;
  const little = s.dtype.byteorder !== ">";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const t = s.dtype.typestr;
  const num = (v: number) => (Number.isFinite(v) ? v : String(v));
  if ((t === "f8" && n === 8)) return num(view.getFloat64(0, little));
  if ((t === "f4" && n === 4)) return num(view.getFloat32(0, little));
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
