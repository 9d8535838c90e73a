import type { ByteSource } from "../../io/source.js";
import type { JsonObject, JsonValue } from "../../tensor/checkpoint.js";
import { WeightbridgeError } from "../../errors.js";
import { HeaderCursor } from "./cursor.js";
import { ARRAY_TYPE, SCALAR_BY_ID, STRING_TYPE, typeName, type ValueType } from "./metadata-types.js";
import { ggmlTypeById, type GgmlType } from "./ggml-types.js";

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** Nesting of arrays in arrays beyond this is refused (real files nest one level). */
const MAX_ARRAY_DEPTH = 16;

export interface GgufTensorInfo {
  name: string;
  /** PyTorch/numpy order: GGUF's dims reversed (GGUF stores the innermost first). */
  shape: number[];
  type: GgmlType;
  /** Bytes from the start of the data section. */
  offset: number;
  byteLength: number;
  /** Where the info record starts, for error messages. */
  infoOffset: number;
}

export interface GgufHeader {
  version: number;
  metadata: JsonObject;
  types: Record<string, string>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataStart: number;
}

/** Reads everything before the tensor data, checking each count, length and offset against the file. */
export async function readGgufHeader(source: ByteSource): Promise<GgufHeader> {
  const cursor = new HeaderCursor(source);
  const file = source.name;
  if (source.size < 24) throw cursor.truncated("the 24-byte GGUF header", 0);
  const magic = await cursor.u32("the magic");
  if (magic !== GGUF_MAGIC) throw new WeightbridgeError("bad-magic", "not a GGUF file (no 'GGUF' magic)", { file, offset: 0 });
  const version = await cursor.u32("the version");
  if (version === 0x03000000 || version === 0x02000000) {
    throw new WeightbridgeError("unsupported", "a big-endian GGUF (weightbridge reads little-endian GGUF, what llama.cpp writes by default)", {
      file,
      offset: 4,
    });
  }
  if (version !== 2 && version !== 3) {
    throw new WeightbridgeError("unsupported", `GGUF version ${version} (weightbridge reads versions 2 and 3; re-save the file with a current llama.cpp)`, {
      file,
      offset: 4,
    });
  }
  // A tensor info needs at least 8+4+4+8 bytes and a key/value pair 8+4+1.
  const tensorCount = await cursor.count("the tensor count", Math.floor(source.size / 24));
  const kvCount = await cursor.count("the metadata key count", Math.floor(source.size / 13));

  const metadata: JsonObject = {};
  const types: Record<string, string> = {};
  for (let i = 0; i < kvCount; i++) {
    const at = cursor.position;
    const key = await cursor.string(`metadata key ${i}`);
    if (Object.hasOwn(metadata, key)) throw cursor.corrupt(`metadata key '${key}' is set twice`, at);
    const type = await readType(cursor, key, 0);
    metadata[key] = await readValue(cursor, type, key, 0);
    types[key] = typeName(type);
  }

  const alignment = alignmentOf(metadata, types, file);
  const infos: Array<Omit<GgufTensorInfo, "byteLength"> & { elements: number }> = [];
  for (let i = 0; i < tensorCount; i++) {
    const infoOffset = cursor.position;
    const name = await cursor.string(`the name of tensor ${i}`);
    const where = { file, tensor: name, offset: infoOffset };
    const nDims = await cursor.u32(`tensor '${name}'`);
    if (nDims > MAX_DIMS) throw new WeightbridgeError("corrupt", `tensor has ${nDims} dimensions (ggml allows at most ${MAX_DIMS})`, where);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const dim = await cursor.u64(`tensor '${name}'`);
      // Every element of a stored type takes at least 1/8 byte (IQ1_S: 1.56 bits), so the file bounds the count.
      if (dim > BigInt(source.size) * 8n)
        throw new WeightbridgeError("corrupt", `dimension ${d} is ${dim}, more elements than the ${source.size}-byte file can hold`, where);
      dims.push(Number(dim));
      elements *= Number(dim);
      if (elements > source.size * 8)
        throw new WeightbridgeError("corrupt", `${dims.join("×")}… elements are more than the ${source.size}-byte file can hold`, where);
    }
    const typeId = await cursor.u32(`tensor '${name}'`);
    const type = ggmlTypeById(typeId);
    if (!type) throw new WeightbridgeError("unsupported", `unknown ggml tensor type ${typeId}`, where);
    const offset = await cursor.u64(`tensor '${name}'`);
    if (offset > BigInt(source.size)) throw new WeightbridgeError("corrupt", `data offset ${offset} is past the end of the ${source.size}-byte file`, where);
    if ((dims[0] ?? 1) % type.blockSize !== 0) {
      throw new WeightbridgeError("corrupt", `rows of ${dims[0]} values are not whole ${type.name} blocks of ${type.blockSize}`, where);
    }
    infos.push({ name, shape: dims.reverse(), type, offset: Number(offset), infoOffset, elements });
  }
  const dataStart = alignUp(cursor.position, alignment);
  const dataSize = source.size - dataStart;
  const tensors = infos.map(({ elements, ...info }): GgufTensorInfo => {
    const byteLength = (elements / info.type.blockSize) * info.type.typeSize;
    const where = { file, tensor: info.name, offset: info.infoOffset };
    if (info.offset % alignment !== 0)
      throw new WeightbridgeError("corrupt", `data offset ${info.offset} is not a multiple of the alignment ${alignment}`, where);
    if (info.offset + byteLength > dataSize) {
      throw new WeightbridgeError(
        "truncated",
        `${info.type.name}[${info.shape.join(", ")}] needs ${byteLength} bytes at data offset ${info.offset}, past the end of the file (${dataSize} data bytes from ${dataStart})`,
        where,
      );
    }
    return { ...info, byteLength };
  });
  return { version, metadata, types, tensors, alignment, dataStart };
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function alignmentOf(metadata: JsonObject, types: Record<string, string>, file: string): number {
  const value = metadata["general.alignment"];
  if (value === undefined) return DEFAULT_ALIGNMENT;
  if (types["general.alignment"] !== "uint32" || typeof value !== "number" || value === 0 || value % 8 !== 0) {
    throw new WeightbridgeError(
      "corrupt",
      `general.alignment must be a non-zero uint32 multiple of 8, not ${JSON.stringify(value)} (${types["general.alignment"]})`,
      { file },
    );
  }
  return value;
}

async function readType(cursor: HeaderCursor, key: string, depth: number): Promise<ValueType> {
  const at = cursor.position;
  const id = await cursor.u32(`the type of '${key}'`);
  if (id === STRING_TYPE) return { kind: "string" };
  if (id === ARRAY_TYPE) return { kind: "array" };
  const scalar = SCALAR_BY_ID.get(id);
  if (!scalar) throw cursor.corrupt(`metadata '${key}' has unknown value type ${id}`, at);
  void depth;
  return { kind: "scalar", scalar };
}

async function readValue(cursor: HeaderCursor, type: ValueType, key: string, depth: number): Promise<JsonValue> {
  if (type.kind === "string") return cursor.string(`the value of '${key}'`);
  if (type.kind === "scalar") return cursor.scalar(type.scalar.size, `the value of '${key}'`, type.scalar.get);
  if (depth >= MAX_ARRAY_DEPTH) throw cursor.corrupt(`metadata '${key}' nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
  const element = await readType(cursor, key, depth + 1);
  type.element = element;
  // Each element takes at least one byte (strings and arrays 8 or more): the file bounds the count.
  const count = await cursor.count(`the length of array '${key}'`, cursor.remaining);
  if (element.kind === "scalar") {
    const { size, get } = element.scalar;
    const bytes = await cursor.bytes(count * size, `array '${key}'`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: JsonValue[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = get(view, i * size);
    return out;
  }
  const out: JsonValue[] = [];
  for (let i = 0; i < count; i++) {
    if (element.kind === "array") {
      // Each inner array declares its own element type; the first one names the key's type.
      const inner: ValueType = { kind: "array" };
      out.push(await readValue(cursor, inner, key, depth + 1));
      if (i === 0) type.element = inner;
    } else {
      out.push(await readValue(cursor, element, key, depth + 1));
    }
  }
  return out;
}
