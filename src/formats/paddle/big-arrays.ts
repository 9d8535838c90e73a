import { WeightbridgeError } from "../../errors.js";
import { numelOf } from "../../tensor/dtype.js";
import { NumpyArray, PickleDict, intOf, sequenceItems, type PickleValue } from "../../pickle/index.js";
import { BIG_PARAM_INFO_KEY, SLICE_SEPARATOR } from "./keys.js";

// paddle.save with protocol 2/3 cuts top-level arrays of more than (2^30 - 1) // itemsize elements
// into 1-D slices `<key>@@.<i>` and records them under `UnpackBigParamInfor@@`
// (`{key: {"OriginShape": shape, "slices": [slice keys]}}`); paddle.load concatenates them back.

/** Elements per slice for an item size, Paddle's threshold (`_unpack_saved_dict`). */
export function sliceElements(itemsize: number): number {
  return Math.floor((2 ** 30 - 1) / itemsize);
}

export interface SplitArray {
  pieces: NumpyArray[];
  shape: number[];
}

/**
 * Removes the slices and the info key from a top-level dict; the original key takes the place of
 * its first slice with the first piece as a stand-in, and `splits` says how to rebuild it.
 */
export function reassembleBigArrays(root: PickleDict, file: string): { root: PickleDict; splits: Map<string, SplitArray> } {
  const info = root.get(BIG_PARAM_INFO_KEY);
  const splits = new Map<string, SplitArray>();
  if (info === undefined) return { root, splits };
  const fail = (why: string, tensor?: string) => new WeightbridgeError("corrupt", `${BIG_PARAM_INFO_KEY}: ${why}`, { file, tensor });
  if (!(info instanceof PickleDict)) throw fail("is not a dict");
  const firstSlice = new Map<string, string>();
  const sliceKeys = new Set<string>();
  for (const [key, entry] of info) {
    if (typeof key !== "string" || !(entry instanceof PickleDict)) throw fail("entries must map a key to a dict");
    const shapeItems = sequenceItems(entry.get("OriginShape"));
    const slices = sequenceItems(entry.get("slices"));
    const shape = shapeItems?.map((d) => intOf(d));
    if (!shape || !shape.every((d): d is number => d !== undefined && d >= 0)) throw fail("OriginShape is not a shape", key);
    if (!slices || slices.length === 0 || !slices.every((s): s is string => typeof s === "string")) throw fail("slices is not a list of keys", key);
    const pieces = slices.map((s) => {
      if (!s.startsWith(key + SLICE_SEPARATOR)) throw fail(`slice '${s}' does not belong to this key`, key);
      const piece = root.get(s);
      if (!(piece instanceof NumpyArray)) throw fail(`slice '${s}' is missing or not an array`, key);
      return piece;
    });
    const typestr = pieces[0]!.dtype?.typestr;
    if (!pieces.every((p) => p.dtype?.typestr === typestr && p.shape.length === 1)) throw fail("slices differ in dtype or are not 1-D", key);
    const total = pieces.reduce((n, p) => n + p.shape[0]!, 0);
    if (total !== numelOf(shape)) throw fail(`slices hold ${total} elements but OriginShape needs ${numelOf(shape)}`, key);
    splits.set(key, { pieces, shape });
    firstSlice.set(slices[0]!, key);
    for (const s of slices) sliceKeys.add(s);
  }
  const rebuilt = new PickleDict(undefined, root.ordered);
  for (const [k, v] of root) {
    if (k === BIG_PARAM_INFO_KEY) continue;
    if (typeof k === "string" && sliceKeys.has(k)) {
      const original = firstSlice.get(k);
      if (original !== undefined) rebuilt.set(original, splits.get(original)!.pieces[0]! as PickleValue);
      continue;
    }
    rebuilt.set(k, v);
  }
  return { root: rebuilt, splits };
}
