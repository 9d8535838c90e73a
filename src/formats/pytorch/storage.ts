import { WeightbridgeError } from "../../errors.js";
import { type DType, dtypeSize, dtypeKind, numelOf } from "../../tensor/dtype.js";
import { computedData, type TensorData } from "../../tensor/tensor.js";
import { byteswap, gatherStrided, isContiguous, viewExtent } from "../../kernels/strided.js";

/** The bytes of one stored storage (zip record, legacy blob, constants entry). */
export interface StorageBlob {
  /** For errors: `data/3`, `constants/0` ... */
  label: string;
  byteLength: number;
  /** Lazy data for a byte range of the storage. */
  range(offset: number, length: number): TensorData;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface TensorView {
  dtype: DType;
  offset: number;
  shape: number[];
  stride: number[];
}

const MAX_BROADCAST_BYTES = 256 << 20;

/**
 * Resolves a PyTorch view (offset, shape, stride in elements) onto a storage into contiguous
 * little-endian tensor data: a positioned range when the view is contiguous, a gather otherwise.
 */
export function viewData(blob: StorageBlob, view: TensorView, tensorName: string, bigEndian = false): TensorData {
  const { dtype, offset, shape, stride } = view;
  const size = dtypeSize(dtype);
  const fail = (why: string) => new WeightbridgeError("corrupt", why, { tensor: tensorName, path: blob.label });
  if (shape.length !== stride.length) throw fail(`shape has ${shape.length} dimensions but stride has ${stride.length}`);
  if (![offset, ...shape, ...stride].every((v) => Number.isSafeInteger(v) && v >= 0)) throw fail("negative or non-integer view geometry");
  const count = numelOf(shape);
  const byteLength = count * size;
  if (!Number.isSafeInteger(byteLength)) throw fail("tensor is impossibly large");
  const extent = viewExtent(shape, stride);
  if (count > 0 && (offset + extent + 1) * size > blob.byteLength) {
    throw fail(`view reaches element ${offset + extent} but the storage holds ${Math.floor(blob.byteLength / size)} elements`);
  }
  const swapUnit = dtypeKind(dtype) === "complex" ? size / 2 : size;
  if (count === 0) return computedData(0, async () => new Uint8Array(0));
  if (isContiguous(shape, stride) && !bigEndian) return blob.range(offset * size, byteLength);
  // Broadcast views (stride 0) of a small storage can declare any size; gathering allocates it.
  if (byteLength > Math.max(blob.byteLength, MAX_BROADCAST_BYTES)) {
    throw new WeightbridgeError("unsupported", `strided view of ${byteLength} bytes over a ${blob.byteLength}-byte storage is too large to gather`, {
      tensor: tensorName,
      path: blob.label,
    });
  }
  return computedData(byteLength, async () => {
    const span = await blob.read(offset * size, (extent + 1) * size);
    const out = isContiguous(shape, stride) ? span.slice() : gatherStrided(span, size, shape, stride, 0);
    return bigEndian ? byteswap(out, swapUnit) : out;
  });
}
