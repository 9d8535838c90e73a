import { canCast } from "./cast.js";
import { runKernel } from "./kernel-pool.js";
import { type DType, dtypeSize, isFloating } from "../tensor/dtype.js";
import { giveScratch, takeScratch } from "../util/scratch.js";
import type { Tensor, TensorData } from "../tensor/tensor.js";

/**
 * The cast chunks of `pieces`, one chunk cast (in a worker when there is one) while the previous
 * one is being written. With `recycle`, each chunk is cast into a recycled buffer that is handed
 * back when the consumer asks for the chunk after it (streamChunks' contract); without, every
 * chunk is new memory the consumer may keep.
 */
async function* castPieces(pieces: AsyncIterable<Uint8Array>, from: DType, to: DType, recycle: boolean): AsyncIterable<Uint8Array> {
  const ratio = dtypeSize(to) / dtypeSize(from);
  const job = { kind: "cast" as const, from, to };
  let casting: { bytes: Promise<Uint8Array>; out?: Uint8Array } | undefined;
  const start = (chunk: Uint8Array) => {
    const out = recycle ? takeScratch(chunk.byteLength * ratio) : undefined;
    return { bytes: runKernel(job, chunk, undefined, out), out };
  };
  try {
    for await (const chunk of pieces) {
      const next = start(chunk);
      if (casting) {
        yield await casting.bytes;
        if (casting.out) giveScratch(casting.out);
      }
      casting = next;
    }
    if (casting) {
      yield await casting.bytes;
      if (casting.out) giveScratch(casting.out);
    }
    casting = undefined;
  } finally {
    // An abandoned stream may leave a cast in flight; its buffer is simply dropped.
    await casting?.bytes.catch(() => {});
  }
}

/** A tensor cast to another floating dtype, converted chunk by chunk as it streams. */
export function castTensor(tensor: Tensor, to: DType): Tensor {
  if (tensor.dtype === to || !isFloating(tensor.dtype) || !canCast(tensor.dtype, to)) return tensor;
  const direct = tensor.data.castTo?.(to);
  if (direct) return { ...tensor, dtype: to, data: direct };
  const from = tensor.dtype;
  const ratio = dtypeSize(to) / dtypeSize(from);
  const source = tensor.data;
  // Source chunks must hold whole elements: ask for a multiple of the element size.
  const sourceChunk = (maxBytes: number) => Math.max(dtypeSize(from), Math.floor(maxBytes / Math.max(ratio, 1) / 8) * 8);
  // Kernels are done with a source chunk before the next is asked for, so the recycled-buffer
  // stream of the source is safe here.
  const pieces = (maxBytes: number) => source.streamChunks?.(sourceChunk(maxBytes)) ?? source.chunks(sourceChunk(maxBytes));
  const data: TensorData = {
    byteLength: (source.byteLength / dtypeSize(from)) * dtypeSize(to),
    async read() {
      return runKernel({ kind: "cast", from, to }, await source.read());
    },
    chunks: (maxBytes) => castPieces(pieces(maxBytes), from, to, false),
    streamChunks: (maxBytes) => castPieces(pieces(maxBytes), from, to, true),
  };
  return { ...tensor, dtype: to, data };
}
