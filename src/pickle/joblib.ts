/**
 * joblib.dump files are a pickle with array data written INSIDE the stream: right after the BUILD
 * of each `joblib.numpy_pickle.NumpyArrayWrapper` come the array's raw bytes (after a padding
 * byte and padding when `numpy_array_alignment_bytes` is set), or, for object arrays, a nested
 * pickle. joblib's unpickler reads them there; so must ours, or it would take array bytes for opcodes.
 */
import { NumpyArray, NumpyDtype } from "./typed.js";
import { LazyBytes, PickleObject, intOf, sequenceItems, type PickleValue } from "./values.js";
import type { PickleCursor } from "./cursor.js";

export const JOBLIB_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper";

export interface InlineContext {
  cur: PickleCursor;
  fail(code: "corrupt" | "unsupported", message: string): never;
  charge(units: number): void;
  /** Interprets the nested pickle that starts at the cursor (object arrays) and returns its value. */
  nested(): PickleValue;
}

/** The array a BUILT wrapper stands for, reading its inline bytes (left in the file as a range). */
export function joblibArray(wrapper: PickleObject, ctx: InlineContext): PickleValue {
  const dtype = wrapper.attr("dtype");
  const shape = sequenceItems(wrapper.attr("shape"))?.map((d) => intOf(d));
  if (!(dtype instanceof NumpyDtype) || !shape || shape.some((d) => d === undefined || d < 0)) {
    return ctx.fail("corrupt", "joblib NumpyArrayWrapper without a numpy dtype and shape");
  }
  if (dtype.typestr.includes("O")) return ctx.nested();
  const alignment = wrapper.attr("numpy_array_alignment_bytes");
  if (alignment !== undefined && alignment !== null) {
    const padding = ctx.cur.u8("joblib padding length", ctx.cur.pos);
    ctx.cur.skip(padding, "joblib padding", ctx.cur.pos);
  }
  const itemsize = dtype.itemsize;
  if (itemsize === undefined) return ctx.fail("unsupported", `joblib array of numpy dtype '${dtype.descr}'`);
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const length = count * itemsize;
  ctx.charge(shape.length);
  const array = new NumpyArray("numpy");
  array.dtype = dtype;
  array.shape = shape as number[];
  array.fortranOrder = wrapper.attr("order") === "F";
  array.data = new LazyBytes(ctx.cur.skip(length, "joblib array data", ctx.cur.pos), length);
  array.built = true;
  return array;
}
