import { readRangeInto, type ByteSource } from "./source.js";
import { giveScratch, takeScratch } from "../util/scratch.js";
import { eventLoopTurns } from "../util/event-loop.js";

// Streaming a byte range for a writer: every chunk is read into a recycled buffer (fresh multi-MB
// allocations cost a page fault per 4 KiB and dominated copy-like conversions). A source that
// reads synchronously (a file) is read in small pieces, each consumed while it is still in the
// CPU cache; any other has its next chunk read while the consumer writes the current one.

/** Pieces read synchronously: small enough to stay in cache until the writer copies them out. */
const SYNC_PIECE = 256 << 10;

/**
 * `length` bytes of `source` at `offset` in chunks of at most `maxBytes`. A chunk is valid only
 * until the next one is asked for (its buffer is then reused): for consumers that write each
 * chunk out, or copy it, before moving on.
 */
export async function* readAhead(source: ByteSource, offset: number, length: number, maxBytes: number): AsyncGenerator<Uint8Array> {
  if (length === 0) return;
  if (source.readIntoSync) {
    yield* readInPieces(source, offset, length, Math.max(1, Math.min(maxBytes, SYNC_PIECE)));
    return;
  }
  const size = Math.max(1, Math.min(maxBytes, length));
  const buffers = [takeScratch(size), length > size ? takeScratch(size) : undefined];
  let pending: Promise<Uint8Array> | undefined;
  try {
    const start = async (at: number, buffer: Uint8Array) => {
      const chunk = buffer.subarray(0, Math.min(size, length - at));
      await readRangeInto(source, offset + at, chunk);
      return chunk;
    };
    pending = start(0, buffers[0]!);
    for (let at = 0, turn = 0; at < length; at += size, turn ^= 1) {
      const chunk = await pending!;
      pending = undefined;
      if (at + size < length) pending = start(at + size, buffers[turn ^ 1]!);
      yield chunk;
    }
  } finally {
    // An abandoned stream may still have a read in flight into one of the buffers.
    if (pending) await pending.catch(() => {});
    for (const b of buffers) if (b) giveScratch(b);
  }
}

async function* readInPieces(source: ByteSource, offset: number, length: number, size: number): AsyncGenerator<Uint8Array> {
  const buffer = takeScratch(size);
  const moved = eventLoopTurns();
  try {
    for (let at = 0; at < length; at += size) {
      const piece = buffer.subarray(0, Math.min(size, length - at));
      source.readIntoSync!(offset + at, piece);
      yield piece;
      await moved(piece.byteLength);
    }
  } finally {
    giveScratch(buffer);
  }
}
