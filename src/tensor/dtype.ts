/** The element types of the intermediate representation. These exact strings are public API. */
export const DTYPES = [
  "float64",
  "float32",
  "float16",
  "bfloat16",
  "float8_e4m3fn",
  "float8_e5m2",
  "int64",
  "int32",
  "int16",
  "int8",
  "uint64",
  "uint32",
  "uint16",
  "uint8",
  "bool",
  "complex64",
  "complex128",
  "int4",
  "uint4",
] as const;

export type DType = (typeof DTYPES)[number];

export type DTypeKind = "float" | "int" | "uint" | "bool" | "complex";

interface DTypeInfo {
  size: number;
  kind: DTypeKind;
}

const INFO: Record<DType, DTypeInfo> = {
  float64: { size: 8, kind: "float" },
  float32: { size: 4, kind: "float" },
  float16: { size: 2, kind: "float" },
  bfloat16: { size: 2, kind: "float" },
  float8_e4m3fn: { size: 1, kind: "float" },
  float8_e5m2: { size: 1, kind: "float" },
  int64: { size: 8, kind: "int" },
  int32: { size: 4, kind: "int" },
  int16: { size: 2, kind: "int" },
  int8: { size: 1, kind: "int" },
  uint64: { size: 8, kind: "uint" },
  uint32: { size: 4, kind: "uint" },
  uint16: { size: 2, kind: "uint" },
  uint8: { size: 1, kind: "uint" },
  bool: { size: 1, kind: "bool" },
  complex64: { size: 8, kind: "complex" },
  complex128: { size: 16, kind: "complex" },
  // Two values per byte, the first in the low nibble, as ONNX stores them (the last byte padded).
  int4: { size: 0.5, kind: "int" },
  uint4: { size: 0.5, kind: "uint" },
};

/** Bytes per element (0.5 for the packed 4-bit types: use byteLengthOf for a whole tensor). */
export function dtypeSize(dtype: DType): number {
  return INFO[dtype].size;
}

export function dtypeKind(dtype: DType): DTypeKind {
  return INFO[dtype].kind;
}

/** Real floating types (the ones `--dtype` casts). */
export function isFloating(dtype: DType): boolean {
  return INFO[dtype].kind === "float";
}

/** Number of elements of a shape; 1 for a 0-d shape. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Byte length of a contiguous tensor of this dtype and shape. */
export function byteLengthOf(dtype: DType, shape: readonly number[]): number {
  return Math.ceil(numelOf(shape) * dtypeSize(dtype));
}

/** int4 and uint4: two elements per byte, so no element has a byte of its own. */
export function isPacked(dtype: DType): boolean {
  return INFO[dtype].size < 1;
}
