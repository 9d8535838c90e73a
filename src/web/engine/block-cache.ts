import type { ByteSource } from "../../io/source.js";

/** Reads at most this long are served from cached blocks; longer ones go straight to the Blob. */
const SMALL = 64 << 10;
const BLOCK = 1 << 20;
const BLOCKS = 4;

/**
 * Readers walking headers (zip directories, pickles, protobuf and Paddle tensor streams) ask for
 * many small ranges; each Blob.slice read costs a round trip through the browser, so small reads
 * come from a few cached 1 MiB blocks (4 MiB at most per source).
 */
export function withBlockCache(source: ByteSource): ByteSource {
  const blocks = new Map<number, Promise<Uint8Array>>();
  const block = (index: number): Promise<Uint8Array> => {
    let cached = blocks.get(index);
    if (cached) {
      blocks.delete(index);
    } else {
      const start = index * BLOCK;
      cached = source.read(start, Math.min(BLOCK, source.size - start));
      cached.catch(() => blocks.delete(index));
    }
    blocks.set(index, cached);
    if (blocks.size > BLOCKS) blocks.delete(blocks.keys().next().value!);
    return cached;
  };
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    if (length > SMALL || offset < 0 || length < 0 || offset + length > source.size) return source.read(offset, length);
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + length - 1) / BLOCK);
    if (length === 0) return new Uint8Array(0);
    if (first === last) {
      const bytes = await block(first);
      return bytes.slice(offset - first * BLOCK, offset - first * BLOCK + length);
    }
    const out = new Uint8Array(length);
    for (let i = first; i <= last; i++) {
      const bytes = await block(i);
      const from = Math.max(offset, i * BLOCK);
      const to = Math.min(offset + length, (i + 1) * BLOCK);
      out.set(bytes.subarray(from - i * BLOCK, to - i * BLOCK), from - offset);
    }
    return out;
  };
  return { ...source, read };
}
