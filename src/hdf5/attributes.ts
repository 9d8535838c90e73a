import type { Group } from "h5wasm";
import { WeightbridgeError, type ErrorLocation } from "../errors.js";
import { h5Call, h5FileSize } from "./h5.js";
import { utf8 } from "../util/bytes.js";

export type HasAttrs = Pick<Group, "attrs" | "path" | "create_attribute" | "delete_attribute">;

function clean(s: string): string {
  // h5wasm cuts fixed strings at the first NUL; SPACEPAD strings keep trailing spaces.
  return s.replace(/[\0 ]+$/, "");
}

/** A string attribute's value as a list (scalar → one string); an empty numeric array (how numpy stores []) is an empty list. */
export function toStrings(value: unknown, what: string, location: ErrorLocation): string[] {
  if (typeof value === "string") return [clean(value)];
  if (value instanceof Uint8Array) return [clean(new TextDecoder().decode(value))];
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
      throw new WeightbridgeError(
        "corrupt",
        `attribute '${name}' declares ${count} elements of ${attr.metadata.size} bytes but the file is ${fileSize} bytes`,
        loc,
      );
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

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** The h5wasm fixed-length string type that holds every value. */
export function fixedType(values: string[]): { type: string; width: number } {
  const width = Math.max(1, ...values.map((v) => utf8(v).byteLength));
  // Fixed-length strings read as bytes in every h5py version (vlen breaks Keras <= 2.3's
  // `.decode`). h5wasm letters: A = ASCII (NULLTERM), S = UTF-8 (SPACEPAD).
  return { type: `${values.every(isAscii) ? "A" : "S"}${width}`, width };
}

/** A scalar string attribute, fixed-length. */
export function writeStringAttr(obj: HasAttrs, name: string, value: string, location: ErrorLocation): void {
  const loc = { ...location, path: obj.path };
  h5Call(`write attribute '${name}'`, loc, () => obj.create_attribute(name, value, null, fixedType([value]).type));
}
