import type { Group } from "h5wasm";
import { WeightbridgeError, type ErrorLocation } from "../../errors.js";
import { h5Call, h5FileSize } from "./h5.js";
import { utf8 } from "../../util/bytes.js";

type HasAttrs = Pick<Group, "attrs" | "path" | "create_attribute" | "delete_attribute">;

function clean(s: string): string {
  // h5wasm cuts fixed strings at the first NUL; SPACEPAD strings keep trailing spaces.
  return s.replace(/[\0 ]+$/, "");
}

function toStrings(value: unknown, what: string, location: ErrorLocation): string[] {
  if (typeof value === "string") return [clean(value)];
  if (value instanceof Uint8Array) return [clean(new TextDecoder().decode(value))];
  // Keras stores an empty list through NumPy: an empty float64 array.
  if (ArrayBuffer.isView(value) && (value as unknown as ArrayLike<number>).length === 0) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return (value as string[]).map(clean);
  throw new WeightbridgeError("corrupt", `attribute '${what}' is not a list of strings`, location);
}

/**
 * An attribute's value, after checking its declared element count and size against the file's
 * real size: h5wasm would otherwise decode a lying dataspace element by element, for hours.
 */
export function attrValue(obj: HasAttrs, name: string, location: ErrorLocation): unknown {
  const loc = { ...location, path: obj.path };
  return h5Call(`read attribute '${name}'`, loc, () => {
    const attr = obj.attrs[name]!;
    const fileSize = h5FileSize(attr.file_id);
    const count = (attr.metadata.shape ?? []).reduce((a, d) => a * d, 1);
    if (fileSize !== undefined && (count > fileSize || (!attr.metadata.vlen && count * attr.metadata.size > fileSize))) {
      throw new WeightbridgeError("corrupt", `attribute '${name}' declares ${count} elements of ${attr.metadata.size} bytes but the file is ${fileSize} bytes`, loc);
    }
    return attr.value;
  });
}

export function hasAttr(obj: HasAttrs, name: string): boolean {
  return h5Call("list attributes", { path: obj.path }, () => name in obj.attrs);
}

/** A string attribute (scalar, or a one-element array), or undefined when absent. */
export function readStringAttr(obj: HasAttrs, name: string, location: ErrorLocation): string | undefined {
  if (!hasAttr(obj, name)) return undefined;
  const list = toStrings(attrValue(obj, name, location), name, { ...location, path: obj.path });
  if (list.length !== 1) throw new WeightbridgeError("corrupt", `attribute '${name}' should be one string`, { ...location, path: obj.path });
  return list[0];
}

/**
 * A Keras string-list attribute: `name`, or when Keras split it past 64 KiB, `name0`, `name1` ...
 * concatenated until the first missing index. Undefined when neither form exists.
 */
export function readStringList(obj: HasAttrs, name: string, location: ErrorLocation): string[] | undefined {
  const loc = { ...location, path: obj.path };
  if (hasAttr(obj, name)) return toStrings(attrValue(obj, name, loc), name, loc);
  if (!hasAttr(obj, `${name}0`)) return undefined;
  const out: string[] = [];
  for (let i = 0; hasAttr(obj, `${name}${i}`); i++) out.push(...toStrings(attrValue(obj, `${name}${i}`, loc), `${name}${i}`, loc));
  return out;
}

/** Keras' HDF5_OBJECT_HEADER_LIMIT: string lists bigger than this are split into chunks. */
export const HEADER_LIMIT = 64512;

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

function fixedType(values: string[]): { type: string; width: number } {
  const width = Math.max(1, ...values.map((v) => utf8(v).byteLength));
  // Fixed-length strings read as bytes in every h5py/Keras version (vlen breaks Keras <= 2.3's
  // `.decode`). h5wasm letters: A = ASCII (NULLTERM), S = UTF-8 (SPACEPAD).
  return { type: `${values.every(isAscii) ? "A" : "S"}${width}`, width };
}

/** A scalar string attribute, fixed-length. */
export function writeStringAttr(obj: HasAttrs, name: string, value: string, location: ErrorLocation): void {
  const loc = { ...location, path: obj.path };
  h5Call(`write attribute '${name}'`, loc, () => obj.create_attribute(name, value, null, fixedType([value]).type));
}

/**
 * A string list the way Keras' save_attributes_to_hdf5_group stores it: empty → float64[0];
 * otherwise fixed-length strings, split like numpy.array_split into the fewest chunks
 * `name0`, `name1` ... whose size stays under 64512 bytes.
 */
export function writeStringList(obj: HasAttrs, name: string, values: string[], location: ErrorLocation): void {
  const loc = { ...location, path: obj.path };
  if (values.length === 0) {
    h5Call(`write attribute '${name}'`, loc, () => obj.create_attribute(name, new Float64Array(0), [0], "<d"));
    return;
  }
  const { type, width } = fixedType(values);
  if (width > HEADER_LIMIT) {
    throw new WeightbridgeError("unsupported", `a name in '${name}' is longer than Keras' ${HEADER_LIMIT}-byte attribute limit`, loc);
  }
  let pieces = 1;
  while (Math.ceil(values.length / pieces) * width > HEADER_LIMIT) pieces++;
  if (pieces === 1) {
    h5Call(`write attribute '${name}'`, loc, () => obj.create_attribute(name, values, [values.length], type));
    return;
  }
  const base = Math.floor(values.length / pieces);
  const extra = values.length % pieces;
  let at = 0;
  for (let i = 0; i < pieces; i++) {
    const chunk = values.slice(at, at + base + (i < extra ? 1 : 0));
    at += chunk.length;
    h5Call(`write attribute '${name}${i}'`, loc, () => obj.create_attribute(`${name}${i}`, chunk, [chunk.length], type));
  }
}
