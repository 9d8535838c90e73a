import { WeightbridgeError, type ErrorLocation } from "../../errors.js";
import { h5Call } from "../../hdf5/h5.js";
import { attrValue, fixedType, hasAttr, toStrings, type HasAttrs } from "../../hdf5/attributes.js";

// Keras' string-list attributes (layer_names, weight_names): HDF5 object headers hold at most
// 64 KiB, so Keras splits a long list into `name0`, `name1` ...

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
