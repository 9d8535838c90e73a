import type { JsonObject, JsonValue } from "../../tensor/checkpoint.js";
import { WeightbridgeError } from "../../errors.js";
import { ByteWriter } from "../../util/byte-writer.js";
import { utf8 } from "../../util/bytes.js";
import { parseTypeName, typeId, typeName, SCALAR_BY_NAME, type ValueType } from "./metadata-types.js";

/** A key's type when no GGUF file declared it: what gguf-py's add_* calls would pick for the value. */
export function inferType(value: JsonValue): ValueType | undefined {
  if (typeof value === "string") return { kind: "string" };
  if (typeof value === "boolean") return { kind: "scalar", scalar: SCALAR_BY_NAME.get("bool")! };
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return { kind: "scalar", scalar: SCALAR_BY_NAME.get("float32")! };
    const name = value >= 0 ? (value < 2 ** 32 ? "uint32" : "uint64") : value >= -(2 ** 31) ? "int32" : "int64";
    return { kind: "scalar", scalar: SCALAR_BY_NAME.get(name)! };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { kind: "array", element: { kind: "scalar", scalar: SCALAR_BY_NAME.get("uint8")! } };
    const element = inferType(value[0]!);
    if (!element) return undefined;
    // An array of numbers with any fraction is float32 throughout.
    if (element.kind === "scalar" && typeof value[0] === "number" && value.some((v) => typeof v === "number" && !Number.isInteger(v))) {
      return { kind: "array", element: { kind: "scalar", scalar: SCALAR_BY_NAME.get("float32")! } };
    }
    return { kind: "array", element };
  }
  return undefined;
}

/** Writes one key/value pair (key, type id, value) as GGUF lays it out. */
export function writeKeyValue(out: ByteWriter, key: string, value: JsonValue, typeNameOrUndefined: string | undefined): void {
  const type = typeNameOrUndefined !== undefined ? parseTypeName(typeNameOrUndefined) : inferType(value);
  if (!type) throw new WeightbridgeError("unsupported", `metadata '${key}' (${JSON.stringify(value)?.slice(0, 60)}) has no GGUF type`);
  writeString(out, key);
  out.u32(typeId(type));
  writeValue(out, key, type, value);
}

function writeString(out: ByteWriter, text: string): void {
  const bytes = utf8(text);
  out.u64(bytes.byteLength).bytes(bytes);
}

function writeValue(out: ByteWriter, key: string, type: ValueType, value: JsonValue): void {
  const mismatch = () => new WeightbridgeError("corrupt", `metadata '${key}' is declared ${typeName(type)} but holds ${JSON.stringify(value)?.slice(0, 60)}`);
  if (type.kind === "string") {
    if (typeof value !== "string") throw mismatch();
    writeString(out, value);
    return;
  }
  if (type.kind === "scalar") {
    const { size, set, name } = type.scalar;
    const ok = name === "bool" ? typeof value === "boolean" : typeof value === "number" || (typeof value === "string" && /^-?\d+$/.test(value));
    if (!ok) throw mismatch();
    const bytes = new Uint8Array(size);
    set(new DataView(bytes.buffer), 0, typeof value === "string" ? BigInt(value) : (value as number | boolean));
    out.bytes(bytes);
    return;
  }
  if (!Array.isArray(value)) throw mismatch();
  const element = type.element ?? { kind: "array" };
  out.u32(typeId(element));
  out.u64(value.length);
  for (const item of value) writeValue(out, key, element, item);
}

/** The metadata and types a GGUF output starts from: a GGUF source's, else a GGUF template's. */
export function ggufMetaOf(meta: JsonObject | undefined): { metadata: JsonObject; types: Record<string, string> } | undefined {
  const gguf = meta?.gguf;
  if (!gguf || typeof gguf !== "object" || Array.isArray(gguf)) return undefined;
  const { metadata, types } = gguf as JsonObject;
  if (!metadata || typeof metadata !== "object" || Array.isArray(metadata)) return undefined;
  return { metadata: metadata as JsonObject, types: (types && typeof types === "object" && !Array.isArray(types) ? types : {}) as Record<string, string> };
}
