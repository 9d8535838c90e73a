import type { Tensor } from "./tensor.js";
import { WeightbridgeError } from "../errors.js";

/** Chunk size for streaming tensor bytes: big enough for throughput, small enough for memory. */
export const STREAM_CHUNK = 16 << 20;

/**
 * A tensor's bytes in chunks, checking the total matches the declared length. A chunk is valid
 * only until the next one is asked for: write it out (sinks copy or finish) before moving on.
 */
export async function* streamTensor(tensor: Tensor, chunkSize = STREAM_CHUNK): AsyncIterable<Uint8Array> {
  let total = 0;
  try {
    for await (const chunk of tensor.data.streamChunks?.(chunkSize) ?? tensor.data.chunks(chunkSize)) {
      total += chunk.byteLength;
      yield chunk;
    }
  } catch (e) {
    if (e instanceof WeightbridgeError) throw e.at({ tensor: tensor.name });
    throw e;
  }
  if (total !== tensor.data.byteLength) {
    throw new WeightbridgeError("corrupt", `produced ${total} bytes, expected ${tensor.data.byteLength}`, { tensor: tensor.name });
  }
}
