import type { DType } from "../tensor/dtype.js";

// numpy's array-protocol type strings: a byte order (`<` little, `>` big, `|` not applicable)
// followed by the kind and item size, e.g. `<f4`, `|b1`. The typestr is the part without the order.

const TYPESTR_TO_DTYPE: Readonly<Record<string, DType>> = {
  b1: "bool",
  "?": "bool",
  i1: "int8",
  i2: "int16",
  i4: "int32",
  i8: "int64",
  u1: "uint8",
  u2: "uint16",
  u4: "uint32",
  u8: "uint64",
  f2: "float16",
  f4: "float32",
  f8: "float64",
  c8: "complex64",
  c16: "complex128",
};

/** The IR dtype of a simple numeric typestr (`f4`, `u2` ...); undefined for everything else. */
export function dtypeOfTypestr(typestr: string): DType | undefined {
  return Object.hasOwn(TYPESTR_TO_DTYPE, typestr) ? TYPESTR_TO_DTYPE[typestr] : undefined;
}

/** The little-endian numpy descr numpy itself uses for an IR dtype (none for bfloat16: numpy has no such type). */
export const NUMPY_DESCR: Readonly<Partial<Record<DType, string>>> = {
  bool: "|b1",
  int8: "|i1",
  int16: "<i2",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  uint16: "<u2",
  uint32: "<u4",
  uint64: "<u8",
  float16: "<f2",
  float32: "<f4",
  float64: "<f8",
  complex64: "<c8",
  complex128: "<c16",
};

/** Element size in bytes of a typestr such as `f4` or `?`; undefined when it names no fixed size. */
export function typestrItemsize(typestr: string): number | undefined {
  const m = /^[a-zA-Z?](\d+)$/.exec(typestr);
  if (m) return Number(m[1]);
  if (typestr === "?") return 1;
  return undefined;
}
