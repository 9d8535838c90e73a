import type { TensorData } from "../tensor/tensor.js";
import { transposeBands, type BandedTranspose } from "./wasm/transpose-bands.js";

/**
 * A transposed tensor that a streaming writer gets in bands (wasm/transpose-bands.ts), and any
 * other reader whole, from `whole`. It is not computed ahead (no prefetch): the bands are made
 * while they are written, and computing the whole output ahead would be wasted.
 */
export function streamedInBands(whole: TensorData, input: TensorData, plan: BandedTranspose): TensorData {
  return {
    byteLength: whole.byteLength,
    read: () => whole.read(),
    chunks: (maxBytes) => whole.chunks(maxBytes),
    ...(whole.lend ? { lend: whole.lend.bind(whole) } : {}),
    streamChunks(maxBytes) {
      return transposeBands(input, plan, maxBytes, () => whole.streamChunks?.(maxBytes) ?? whole.chunks(maxBytes));
    },
  };
}
