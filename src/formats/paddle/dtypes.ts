import type { DType } from "../../tensor/dtype.js";

/** Paddle VarType.Type numbers of tensor element types (framework.proto). */
export const PADDLE_DTYPE_TO_IR: Record<number, DType> = {
  0: "bool",
  1: "int16",
  2: "int32",
  3: "int64",
  4: "float16",
  5: "float32",
  6: "float64",
  19: "uint64", // SIZE_T
  20: "uint8",
  21: "int8",
  22: "bfloat16",
  23: "complex64",
  24: "complex128",
  32: "float8_e4m3fn",
  33: "float8_e5m2",
  37: "uint32",
  38: "uint64",
};

/** IR dtype → VarType.Type; uint16 has no Paddle type (Paddle's numpy uint16 means bf16). */
export const IR_TO_PADDLE_DTYPE: Partial<Record<DType, number>> = {
  bool: 0,
  int16: 1,
  int32: 2,
  int64: 3,
  float16: 4,
  float32: 5,
  float64: 6,
  uint8: 20,
  int8: 21,
  bfloat16: 22,
  complex64: 23,
  complex128: 24,
  float8_e4m3fn: 32,
  float8_e5m2: 33,
  uint32: 37,
  uint64: 38,
};

/** VarType.Type kinds that are never saved as weights (feed/fetch holders, readers, raw). */
export const UNSAVED_VAR_KINDS = new Set([9, 10, 15, 17]);
export const DENSE_TENSOR_KIND = 7;

export function paddleDtypeName(code: number): string {
  const ir = PADDLE_DTYPE_TO_IR[code];
  return ir ? `${ir} (VarType ${code})` : `VarType ${code}`;
}
