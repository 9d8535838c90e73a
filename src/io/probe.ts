import type { ByteSource } from "./source.js";
import { looksLikeZip, openZip, type ZipArchive } from "./zip.js";

const HEAD_BYTES = 64 << 10;

/**
 * A first look at a file, for deciding what it is: its first bytes, and what several sniffers
 * would otherwise each work out again (the zip directory, a format's own look inside), computed
 * once and kept for the reader.
 */
export interface Probe {
  /** The first bytes (up to 64 KiB). */
  head: Uint8Array;
  /** File name or label (extension hints only: magic bytes decide first). */
  name: string;
  size: number;
  source: ByteSource;
  /** The zip directory when the file is a zip archive; undefined when it is none or is damaged. Opened once. */
  zip(): Promise<ZipArchive | undefined>;
  /** `compute()`'s result, computed once per key for all who ask (two Keras formats both look at an HDF5 root). */
  shared<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export async function probe(source: ByteSource): Promise<Probe> {
  return probeWithHead(source, await source.read(0, Math.min(source.size, HEAD_BYTES)));
}

/** A probe that sees `head` as the file's first bytes (tests look at shorter heads). */
export function probeWithHead(source: ByteSource, head: Uint8Array, size = source.size): Probe {
  const results = new Map<string, Promise<unknown>>();
  const shared = <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    let result = results.get(key);
    if (!result) {
      result = compute();
      results.set(key, result);
    }
    return result as Promise<T>;
  };
  return {
    head,
    name: source.name,
    size,
    source,
    zip: () => shared("zip", async () => (looksLikeZip(head) ? openZip(source).catch(() => undefined) : undefined)),
    shared,
  };
}
