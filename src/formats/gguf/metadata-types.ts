/**
 * GGUF metadata value types (gguf.md `gguf_metadata_value_type`). A key's type is kept beside
 * its value in `meta.gguf.types` as a name (`uint32`, `string`, `array[float32]`,
 * `array[array[int32]]`), so a GGUF written back declares every value exactly as it was read.
 */
export interface ScalarType {
  id: number;
  name: string;
  size: number;
  get(view: DataView, at: number): number | boolean | string;
  set(view: DataView, at: number, value: number | bigint | boolean): void;
}

/** 64-bit integers become JSON numbers while they are exact, decimal strings beyond. */
function wide(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

export const SCALAR_TYPES: ScalarType[] = [
  { id: 0, name: "uint8", size: 1, get: (v, at) => v.getUint8(at), set: (v, at, x) => v.setUint8(at, Number(x)) },
  { id: 1, name: "int8", size: 1, get: (v, at) => v.getInt8(at), set: (v, at, x) => v.setInt8(at, Number(x)) },
  { id: 2, name: "uint16", size: 2, get: (v, at) => v.getUint16(at, true), set: (v, at, x) => v.setUint16(at, Number(x), true) },
  { id: 3, name: "int16", size: 2, get: (v, at) => v.getInt16(at, true), set: (v, at, x) => v.setInt16(at, Number(x), true) },
  { id: 4, name: "uint32", size: 4, get: (v, at) => v.getUint32(at, true), set: (v, at, x) => v.setUint32(at, Number(x), true) },
  { id: 5, name: "int32", size: 4, get: (v, at) => v.getInt32(at, true), set: (v, at, x) => v.setInt32(at, Number(x), true) },
  { id: 6, name: "float32", size: 4, get: (v, at) => v.getFloat32(at, true), set: (v, at, x) => v.setFloat32(at, Number(x), true) },
  { id: 7, name: "bool", size: 1, get: (v, at) => v.getUint8(at) !== 0, set: (v, at, x) => v.setUint8(at, x ? 1 : 0) },
  { id: 10, name: "uint64", size: 8, get: (v, at) => wide(v.getBigUint64(at, true)), set: (v, at, x) => v.setBigUint64(at, BigInt(x), true) },
  { id: 11, name: "int64", size: 8, get: (v, at) => wide(v.getBigInt64(at, true)), set: (v, at, x) => v.setBigInt64(at, BigInt(x), true) },
  { id: 12, name: "float64", size: 8, get: (v, at) => v.getFloat64(at, true), set: (v, at, x) => v.setFloat64(at, Number(x), true) },
];

export const STRING_TYPE = 8;
export const ARRAY_TYPE = 9;

export const SCALAR_BY_ID = new Map(SCALAR_TYPES.map((t) => [t.id, t]));
export const SCALAR_BY_NAME = new Map(SCALAR_TYPES.map((t) => [t.name, t]));

/** The parsed form of a type name. */
export type ValueType = { kind: "scalar"; scalar: ScalarType } | { kind: "string" } | { kind: "array"; element?: ValueType };

export function typeName(type: ValueType): string {
  if (type.kind === "scalar") return type.scalar.name;
  if (type.kind === "string") return "string";
  // An empty array of arrays declares no inner element type: `array[array[?]]`.
  return `array[${type.element ? typeName(type.element) : "?"}]`;
}

/** Parses a type name; undefined when it names no GGUF type. */
export function parseTypeName(name: string): ValueType | undefined {
  if (name === "string") return { kind: "string" };
  const scalar = SCALAR_BY_NAME.get(name);
  if (scalar) return { kind: "scalar", scalar };
  if (name === "array[?]") return { kind: "array" };
  const inner = /^array\[(.+)\]$/.exec(name)?.[1];
  if (inner === undefined) return undefined;
  const element = parseTypeName(inner);
  return element ? { kind: "array", element } : undefined;
}

export function typeId(type: ValueType): number {
  return type.kind === "scalar" ? type.scalar.id : type.kind === "string" ? STRING_TYPE : ARRAY_TYPE;
}
