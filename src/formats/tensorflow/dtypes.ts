import { WeightbridgeError } from "../../errors.js";
import type { DType } from "../../tensor/dtype.js";

// TensorFlow DataType enum values (tensorflow/core/framework/types.proto).
export const DT_STRING = 7;
export const DT_RESOURCE = 20;
export const DT_VARIANT = 21;

const TO_DTYPE: Record<number, DType> = {
  1: "float32",
  2: "float64",
  3: "int32",
  4: "uint8",
  5: "int16",
  6: "int8",
  8: "complex64",
  9: "int64",
  10: "bool",
  14: "bfloat16",
  17: "uint16",
  18: "complex128",
  19: "float16",
  22: "uint32",
  23: "uint64",
  24: "float8_e5m2",
  25: "float8_e4m3fn",
};

const NAMES: Record<number, string> = {
  7: "DT_STRING",
  11: "DT_QINT8",
  12: "DT_QUINT8",
  13: "DT_QINT32",
  15: "DT_QINT16",
  16: "DT_QUINT16",
  20: "DT_RESOURCE",
  21: "DT_VARIANT",
  26: "DT_FLOAT8_E4M3FNUZ",
  27: "DT_FLOAT8_E4M3B11FNUZ",
  28: "DT_FLOAT8_E5M2FNUZ",
  29: "DT_INT4",
  30: "DT_UINT4",
};

/** The IR dtype of a TensorFlow DataType, or undefined when there is none. */
export function dtypeOfTf(value: number): DType | undefined {
  return TO_DTYPE[value];
}

export function tfDtypeName(value: number): string {
  return NAMES[value] ?? `DataType ${value}`;
}

/** The TensorFlow DataType of an IR dtype. */
export function tfDtypeOf(dtype: DType): number {
  for (const [key, value] of Object.entries(TO_DTYPE)) if (value === dtype) return Number(key);
  throw new WeightbridgeError("unsupported", `no TensorFlow DataType for ${dtype}`);
}
