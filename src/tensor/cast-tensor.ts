import { canCast, castBytes } from "./cast.js";
import { type DType, dtypeSize, isFloating } from "./dtype.js";
import type { Tensor, TensorData } from "./tensor.js";

/** A tensor cast to another floating dtype, converted chunk by chunk as it streams. */
export function castTensor(tensor: Tensor, to: DType): Tensor {
  if (tensor.dtype === to || !isFloating(tensor.dtype) || !canCast(tensor.dtype, to)) return tensor;
  const from = tensor.dtype;
  const ratio = dtypeSize(to) / dtypeSize(from);
  const source = tensor.data;
  const data: TensorData = {
    byteLength: (source.byteLength / dtypeSize(from)) * dtypeSize(to),
    async read() {
      return castBytes(await source.read(), from, to);
    },
    async *chunks(maxBytes: number) {
      // Source chunks must hold whole elements: ask for a multiple of the element size.
      const sourceChunk = Math.max(dtypeSize(from), Math.floor(maxBytes / Math.max(ratio, 1) / 8) * 8);
      // castBytes copies, so the source's recycled-buffer stream is safe here.
      const pieces = source.streamChunks?.(sourceChunk) ?? source.chunks(sourceChunk);
      for await (const chunk of pieces) yield castBytes(chunk, from, to);
    },
  };
  return { ...tensor, dtype: to, data };
}
