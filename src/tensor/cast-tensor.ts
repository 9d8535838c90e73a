import { canCast } from "./cast.js";
import { runKernel } from "./kernel-pool.js";
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
      return runKernel({ kind: "cast", from, to }, await source.read());
    },
    async *chunks(maxBytes: number) {
      // Source chunks must hold whole elements: ask for a multiple of the element size.
      const sourceChunk = Math.max(dtypeSize(from), Math.floor(maxBytes / Math.max(ratio, 1) / 8) * 8);
      // Kernels copy before the next chunk is asked for, so the recycled-buffer stream is safe here.
      const pieces = source.streamChunks?.(sourceChunk) ?? source.chunks(sourceChunk);
      // One chunk is cast (in a worker when there is one) while the previous one is written.
      let casting: Promise<Uint8Array> | undefined;
      try {
        for await (const chunk of pieces) {
          const next = runKernel({ kind: "cast", from, to }, chunk);
          if (casting) yield await casting;
          casting = next;
        }
        if (casting) yield await casting;
      } finally {
        await casting?.catch(() => {});
      }
    },
  };
  return { ...tensor, dtype: to, data };
}
