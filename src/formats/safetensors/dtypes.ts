import type { DType } from "../../tensor/dtype.js";

/** safetensors dtype codes ↔ IR dtypes. complex128 has no safetensors code. */
export const SAFETENSORS_DTYPES: Partial<Record<DType, string>> = {
  float64: "F64",
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  float8_e4m3fn: "F8_E4M3",
  float8_e5m2: "F8_E5M2",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint64: "U64",
  uint32: "U32",
  uint16: "U16",
  uint8: "U8",
  bool: "BOOL",
  complex64: "C64",
};

export const DTYPE_FROM_SAFETENSORS: Record<string, DType> = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([ir, code]) => [code, ir as DType]));
