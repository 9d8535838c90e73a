import { type DType, byteLengthOf } from "../tensor/dtype.js";
import { bfloat16BitsFromNumber, float16BitsFromNumber, numberFromBfloat16Bits, numberFromFloat16Bits } from "./cast.js";
import { WeightbridgeError } from "../errors.js";

// Element-wise numeric access to little-endian tensor bytes, for the few places that need
// values rather than bit patterns (summing RNN biases, numeric diffs, filled tensors).
// 64-bit integers go through Number: exact up to 2^53, which is all these uses need.

const NUMERIC: ReadonlySet<DType> = new Set<DType>([
  "float64",
  "float32",
  "float16",
  "bfloat16",
  "int64",
  "int32",
  "int16",
  "int8",
  "uint64",
  "uint32",
  "uint16",
  "uint8",
  "bool",
  "int4",
  "uint4",
]);

export function hasNumericAccess(dtype: DType): boolean {
  return NUMERIC.has(dtype);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads element `i` of `bytes` as a number. */
export function elementReader(dtype: DType, bytes: Uint8Array): (i: number) => number {
  const v = view(bytes);
  switch (dtype) {
    case "float64":
      return (i) => v.getFloat64(i * 8, true);
    case "float32":
      return (i) => v.getFloat32(i * 4, true);
    case "float16":
      return (i) => numberFromFloat16Bits(v.getUint16(i * 2, true));
    case "bfloat16":
      return (i) => numberFromBfloat16Bits(v.getUint16(i * 2, true));
    case "int64":
      return (i) => Number(v.getBigInt64(i * 8, true));
    case "uint64":
      return (i) => Number(v.getBigUint64(i * 8, true));
    case "int32":
      return (i) => v.getInt32(i * 4, true);
    case "uint32":
      return (i) => v.getUint32(i * 4, true);
    case "int16":
      return (i) => v.getInt16(i * 2, true);
    case "uint16":
      return (i) => v.getUint16(i * 2, true);
    case "int8":
      return (i) => v.getInt8(i);
    case "uint8":
      return (i) => v.getUint8(i);
    case "bool":
      return (i) => (v.getUint8(i) ? 1 : 0);
    case "uint4":
      return (i) => (i & 1 ? v.getUint8(i >> 1) >> 4 : v.getUint8(i >> 1) & 15);
    case "int4":
      return (i) => ((i & 1 ? v.getUint8(i >> 1) >> 4 : v.getUint8(i >> 1) & 15) ^ 8) - 8;
    default:
      throw new WeightbridgeError("unsupported", `no numeric access to ${dtype} elements`);
  }
}

/** Writes element `i` of `bytes` from a number (rounding to nearest for floats, truncating ints). */
export function elementWriter(dtype: DType, bytes: Uint8Array): (i: number, x: number) => void {
  const v = view(bytes);
  switch (dtype) {
    case "float64":
      return (i, x) => v.setFloat64(i * 8, x, true);
    case "float32":
      return (i, x) => v.setFloat32(i * 4, x, true);
    case "float16":
      return (i, x) => v.setUint16(i * 2, float16BitsFromNumber(x), true);
    case "bfloat16":
      return (i, x) => v.setUint16(i * 2, bfloat16BitsFromNumber(x), true);
    case "int64":
      return (i, x) => v.setBigInt64(i * 8, BigInt(Math.trunc(x)), true);
    case "uint64":
      return (i, x) => v.setBigUint64(i * 8, BigInt(Math.trunc(x)), true);
    case "int32":
      return (i, x) => v.setInt32(i * 4, x, true);
    case "uint32":
      return (i, x) => v.setUint32(i * 4, x, true);
    case "int16":
      return (i, x) => v.setInt16(i * 2, x, true);
    case "uint16":
      return (i, x) => v.setUint16(i * 2, x, true);
    case "int8":
      return (i, x) => v.setInt8(i, x);
    case "uint8":
      return (i, x) => v.setUint8(i, x);
    case "bool":
      return (i, x) => v.setUint8(i, x ? 1 : 0);
    case "int4":
    case "uint4":
      return (i, x) => {
        const byte = v.getUint8(i >> 1);
        const nibble = Math.trunc(x) & 15;
        v.setUint8(i >> 1, i & 1 ? (byte & 15) | (nibble << 4) : (byte & 0xf0) | nibble);
      };
    default:
      throw new WeightbridgeError("unsupported", `no numeric access to ${dtype} elements`);
  }
}

/** `count` elements of `dtype`, all equal to `value`. */
export function filledBytes(dtype: DType, count: number, value: number | boolean): Uint8Array {
  const out = new Uint8Array(byteLengthOf(dtype, [count]));
  const x = typeof value === "boolean" ? (value ? 1 : 0) : value;
  if (x === 0 && !Object.is(x, -0)) return out;
  const set = elementWriter(dtype, out);
  for (let i = 0; i < count; i++) set(i, x);
  return out;
}
