import type { ByteSource } from "./source.js";

// Streaming a byte range for a writer: every chunk is read into a recycled buffer (fresh multi-MB
// allocations cost a page fault per 4 KiB and dominated copy-like conversions), and the next
// chunk is read while the consumer writes the current one.

const pool: Uint8Array[] = [];
const MAX_POOLED = 6;

function take(capacity: number): Uint8Array {
  const at = pool.findIndex((b) => b.byteLength >= capacity);
  if (at >= 0) return pool.splice(at, 1)[0]!;
  return new Uint8Array(capacity);
}

function give(buffer: Uint8Array): void {
  if (pool.length >= MAX_POOLED) pool.shift();
  pool.push(buffer);
}

async function fill(source: ByteSource, offset: number, target: Uint8Array): Promise<Uint8Array> {
  if (source.readInto) await source.readInto(offset, target);
  else target.set(await source.read(offset, target.byteLength));
  return target;
}

/**
 * `length` bytes of `source` at `offset` in chunks of at most `maxBytes`. A chunk is valid only
 * until the next one is asked for (its buffer is then reused): for consumers that write each
 * chunk out, or copy it, before moving on.
 */
export async function* readAhead(source: ByteSource, offset: number, length: number, maxBytes: number): AsyncGenerator<Uint8Array> {
  if (length === 0) return;
  const size = Math.max(1, Math.min(maxBytes, length));
  const buffers = [take(size), length > size ? take(size) : undefined];
  let pending: Promise<Uint8Array> | undefined;
  try {
    const start = (at: number, buffer: Uint8Array) => fill(source, offset + at, buffer.subarray(0, Math.min(size, length - at)));
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
    for (const b of buffers) if (b) give(b);
  }
}
