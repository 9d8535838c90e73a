import type { Tensor } from "../tensor/tensor.js";
import { WeightbridgeError } from "../errors.js";
import { giveScratch, takeScratch } from "../util/scratch.js";

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

/**
 * The same bytes regrouped into pieces of exactly `size` bytes (the last may be shorter), for
 * consumers that need whole rows. Each piece is a fresh buffer the consumer may keep, or, with
 * `reuse`, one recycled buffer valid only until the next piece is asked for.
 */
export async function* exactPieces(chunks: AsyncIterable<Uint8Array>, size: number, reuse = false): AsyncIterable<Uint8Array> {
  const scratch = reuse ? takeScratch(size) : undefined;
  try {
    yield* regroup(chunks, size, scratch);
  } finally {
    if (scratch) giveScratch(scratch);
  }
}

async function* regroup(chunks: AsyncIterable<Uint8Array>, size: number, scratch: Uint8Array | undefined): AsyncIterable<Uint8Array> {
  let piece = scratch ?? new Uint8Array(size);
  let filled = 0;
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; ) {
      const n = Math.min(size - filled, chunk.byteLength - at);
      piece.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === size) {
        yield piece;
        piece = scratch ?? new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield piece.subarray(0, filled);
}
