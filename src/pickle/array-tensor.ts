import type { ByteSource } from "../io/source.js";
import { WeightbridgeError } from "../errors.js";
import { byteLengthOf, dtypeSize, type DType } from "../tensor/dtype.js";
import { byteswap, gatherStrided } from "../kernels/strided.js";
import { bytesData, computedData, sourceData, streamedData, type TensorData } from "../tensor/tensor.js";
import { LazyBytes, Latin1FromUtf8, type NumpyArray, type NumpyDtype } from "./index.js";

// An unpickled numpy ndarray as IR tensor data: shared by the pickles that hold arrays (Paddle's
// .pdparams, numpy arrays torch.save put beside tensors).

export interface ArrayTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/**
 * An ndarray's IR dtype (numpy's own mapping unless `dtypeOf` says otherwise), shape and bytes. Bytes the unpickler left in the file (LazyBytes) are
 * referenced by their byte range in `source`; bytes it read (small arrays, protocol 2 text) are
 * kept in memory. Big-endian and Fortran-order arrays are converted when read.
 */
export function arrayTensor(a: NumpyArray, name: string, source: ByteSource, dtypeOf: (d: NumpyDtype) => DType | undefined = (d) => d.irDType): ArrayTensor {
  const fail = (code: "corrupt" | "unsupported", why: string) => new WeightbridgeError(code, why, { file: source.name, tensor: name });
  if (!a.built || !a.dtype) throw fail("corrupt", "numpy array was never filled in (no BUILD state)");
  if (a.objects) throw fail("unsupported", "numpy object array (Python objects, not numbers)");
  const dtype = dtypeOf(a.dtype);
  if (!dtype) throw fail("unsupported", `numpy dtype '${a.dtype.descr}'`);
  const shape = a.shape;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail("corrupt", `numpy shape (${shape.join(", ")}) is not a list of sizes`);
  const raw = a.data ?? new Uint8Array(0);
  const expected = byteLengthOf(dtype, shape);
  const data: TensorData =
    raw instanceof LazyBytes ? (raw.latin1Text ? latin1TextData(source, raw, expected, name) : sourceData(source, raw.offset, raw.length)) : bytesData(raw);
  if (data.byteLength !== expected) throw fail("corrupt", `${dtype}[${shape.join(", ")}] needs ${expected} bytes but the pickle holds ${data.byteLength}`);
  const width = dtypeSize(dtype);
  const bigEndian = a.dtype.byteorder === ">" && width > 1;
  const fortran = a.fortranOrder && shape.length > 1;
  if (!bigEndian && !fortran) return { dtype, shape, data };
  // Complex numbers swap per component.
  const swapWidth = dtype.startsWith("complex") ? width / 2 : width;
  return {
    dtype,
    shape,
    data: computedData(expected, async () => {
      const bytes = await data.read();
      // A fresh copy either way: the unpickled array's own bytes must stay as they are.
      const ordered = fortran ? gatherStrided(bytes, width, shape, fortranStrides(shape), 0) : bytes.slice();
      return bigEndian ? byteswap(ordered, swapWidth) : ordered;
    }),
  };
}

/** Element strides of a column-major array (the first index varies fastest). */
function fortranStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let acc = 1;
  for (const d of shape) {
    strides.push(acc);
    acc *= d;
  }
  return strides;
}

const TEXT_PIECE = 16 << 20;

/**
 * Array bytes a protocol 2 pickle stores as latin-1 text (1 or 2 UTF-8 bytes per byte), decoded
 * from the file piece by piece when read. Their count is only known by decoding, so the array's
 * own size is taken and checked at the end.
 */
function latin1TextData(source: ByteSource, text: LazyBytes, byteLength: number, tensor: string): TensorData {
  const fail = (why: string, offset?: number) =>
    new WeightbridgeError("corrupt", why, { file: source.name, tensor, ...(offset === undefined ? {} : { offset }) });
  async function* decoded(maxBytes: number): AsyncIterable<Uint8Array> {
    if (text.length < byteLength || text.length > 2 * byteLength) {
      throw fail(`${text.length} bytes of text cannot hold the array's ${byteLength} bytes`);
    }
    const decoder = new Latin1FromUtf8();
    let produced = 0;
    for (let at = 0; at < text.length; ) {
      const n = Math.min(Math.max(maxBytes, 2), TEXT_PIECE, text.length - at);
      const piece = decoder.push(await source.read(text.offset + at, n));
      if (!piece) throw fail("array text has a character outside latin-1", text.offset + at);
      produced += piece.byteLength;
      if (produced > byteLength) throw fail(`array text decodes to more than the array's ${byteLength} bytes`);
      if (piece.byteLength > 0) yield piece;
      at += n;
    }
    if (!decoder.complete || produced !== byteLength) throw fail(`array text decodes to ${produced} bytes, the array needs ${byteLength}`);
  }
  return streamedData(byteLength, decoded, TEXT_PIECE, { file: source.name, tensor });
}
