import type { DType } from "../../tensor/dtype.js";
import { TensorType } from "./generated/tensor-type.js";

/** TFLite tensor types the IR holds as they are. INT4 is unpacked to int8 on read (see int4.ts). */
export const DTYPE_OF_TENSOR_TYPE: Partial<Record<TensorType, DType>> = {
  [TensorType.FLOAT32]: "float32",
  [TensorType.FLOAT16]: "float16",
  [TensorType.FLOAT64]: "float64",
  [TensorType.BFLOAT16]: "bfloat16",
  [TensorType.INT64]: "int64",
  [TensorType.INT32]: "int32",
  [TensorType.INT16]: "int16",
  [TensorType.INT8]: "int8",
  [TensorType.UINT64]: "uint64",
  [TensorType.UINT32]: "uint32",
  [TensorType.UINT16]: "uint16",
  [TensorType.UINT8]: "uint8",
  [TensorType.BOOL]: "bool",
  [TensorType.COMPLEX64]: "complex64",
  [TensorType.COMPLEX128]: "complex128",
  [TensorType.FLOAT8_E4M3FN]: "float8_e4m3fn",
  [TensorType.FLOAT8_E5M2]: "float8_e5m2",
};

export const INT4 = TensorType.INT4;
