import type { DType } from "../../tensor/dtype.js";

/**
 * ggml's tensor types as GGUF stores them (ggml.h `enum ggml_type`, ggml-common.h block structs).
 * A plain type maps to an IR dtype; a block type packs `blockSize` values into `typeSize` bytes and
 * is read as float32 (its exact decoded values) with the blocks kept (tensor.ts PackedForm).
 */
export interface GgmlType {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
  /** Plain types: the IR dtype of the bytes. */
  dtype?: DType;
}

const QK_K = 256;

const TYPES: GgmlType[] = [
  { id: 0, name: "F32", blockSize: 1, typeSize: 4, dtype: "float32" },
  { id: 1, name: "F16", blockSize: 1, typeSize: 2, dtype: "float16" },
  { id: 2, name: "Q4_0", blockSize: 32, typeSize: 2 + 16 },
  { id: 3, name: "Q4_1", blockSize: 32, typeSize: 2 + 2 + 16 },
  { id: 6, name: "Q5_0", blockSize: 32, typeSize: 2 + 4 + 16 },
  { id: 7, name: "Q5_1", blockSize: 32, typeSize: 2 + 2 + 4 + 16 },
  { id: 8, name: "Q8_0", blockSize: 32, typeSize: 2 + 32 },
  // ggml's block_q8_1 holds two halves (d, d*sum) and 32 int8: 36 bytes (gguf-py's table still says 40).
  { id: 9, name: "Q8_1", blockSize: 32, typeSize: 2 + 2 + 32 },
  { id: 10, name: "Q2_K", blockSize: QK_K, typeSize: 2 + 2 + QK_K / 16 + QK_K / 4 },
  { id: 11, name: "Q3_K", blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 + 12 },
  { id: 12, name: "Q4_K", blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + 12 },
  { id: 13, name: "Q5_K", blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + QK_K / 8 + 12 },
  { id: 14, name: "Q6_K", blockSize: QK_K, typeSize: 2 + QK_K / 2 + QK_K / 4 + QK_K / 16 },
  { id: 15, name: "Q8_K", blockSize: QK_K, typeSize: 4 + QK_K + QK_K / 8 },
  { id: 16, name: "IQ2_XXS", blockSize: QK_K, typeSize: 2 + QK_K / 4 },
  { id: 17, name: "IQ2_XS", blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 32 },
  { id: 18, name: "IQ3_XXS", blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 },
  { id: 19, name: "IQ1_S", blockSize: QK_K, typeSize: 2 + QK_K / 8 + QK_K / 16 },
  { id: 20, name: "IQ4_NL", blockSize: 32, typeSize: 2 + 16 },
  { id: 21, name: "IQ3_S", blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4 },
  { id: 22, name: "IQ2_S", blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 16 },
  { id: 23, name: "IQ4_XS", blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + QK_K / 64 },
  { id: 24, name: "I8", blockSize: 1, typeSize: 1, dtype: "int8" },
  { id: 25, name: "I16", blockSize: 1, typeSize: 2, dtype: "int16" },
  { id: 26, name: "I32", blockSize: 1, typeSize: 4, dtype: "int32" },
  { id: 27, name: "I64", blockSize: 1, typeSize: 8, dtype: "int64" },
  { id: 28, name: "F64", blockSize: 1, typeSize: 8, dtype: "float64" },
  { id: 29, name: "IQ1_M", blockSize: QK_K, typeSize: QK_K / 8 + QK_K / 16 + QK_K / 32 },
  { id: 30, name: "BF16", blockSize: 1, typeSize: 2, dtype: "bfloat16" },
  { id: 34, name: "TQ1_0", blockSize: QK_K, typeSize: 2 + 4 * 13 },
  { id: 35, name: "TQ2_0", blockSize: QK_K, typeSize: 2 + 64 },
  { id: 39, name: "MXFP4", blockSize: 32, typeSize: 1 + 16 },
];

const BY_ID = new Map(TYPES.map((t) => [t.id, t]));
const BY_NAME = new Map(TYPES.map((t) => [t.name, t]));

export function ggmlTypeById(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

export function ggmlTypeByName(name: string): GgmlType | undefined {
  return BY_NAME.get(name.toUpperCase());
}

/** The plain ggml type that stores an IR dtype, if any. */
export function ggmlTypeForDtype(dtype: DType): GgmlType | undefined {
  return TYPES.find((t) => t.dtype === dtype);
}

export const PACKED_SCHEME_PREFIX = "ggml:";

export const KNOWN_TYPE_NAMES = TYPES.map((t) => t.name);
