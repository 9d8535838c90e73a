import type { DType } from "../../tensor/dtype.js";

// ONNX TensorProto.DataType ids, for the attributes that name a type (Cast's `to`,
// EyeLike's and RandomNormal's `dtype`). The graph room keeps its own table: formats are not its
// dependency.
const BY_ID: Record<number, DType> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
  14: "complex64",
  15: "complex128",
  16: "bfloat16",
};

export function dtypeOfOnnxId(id: number): DType | undefined {
  return BY_ID[id];
}
