import { inflateSync } from "fflate";
import type { ByteSource } from "./source.js";
import { WeightbridgeError } from "../errors.js";
import { u16, u32, u64, fromUtf8 } from "../util/bytes.js";

export interface ZipEntry {
  /** Name with `\` normalised to `/`. */
  name: string;
  method: number;
  /** General-purpose bit flags (bit 0: encrypted, bit 6: strong encryption). */
  flags: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

export interface ZipArchive {
  readonly source: ByteSource;
  readonly entries: ZipEntry[];
  find(name: string): ZipEntry | undefined;
  /** The whole (decompressed) entry. */
  read(entry: ZipEntry): Promise<Uint8Array>;
  /** Byte offset of the entry's data in the file. */
  dataOffset(entry: ZipEntry): Promise<number>;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX_ENTRIES = 10_000_000;
/** Entries larger than this are not inflated into memory in one piece. */
const MAX_INFLATED = 2 ** 31 - 1;

/** True when the bytes start like a zip local file header. */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && u32(head, 0) === LOCAL_SIG;
}

function corrupt(source: ByteSource, message: string, offset?: number, path?: string): WeightbridgeError {
  return new WeightbridgeError("corrupt", message, { file: source.name, offset, path });
}

async function findEndRecord(source: ByteSource): Promise<{ tail: Uint8Array; tailStart: number; at: number }> {
  const tailLength = Math.min(source.size, 22 + 0xffff + 20);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (u32(tail, i) === EOCD_SIG && i + 22 + u16(tail, i + 20) <= tail.length) return { tail, tailStart, at: i };
  }
  throw new WeightbridgeError("truncated", "zip end-of-central-directory record not found (file truncated or not a zip)", {
    file: source.name,
  });
}

/** Opens a zip archive from its central directory; entry data is read only when asked for. */
export async function openZip(source: ByteSource): Promise<ZipArchive> {
  const { tail, tailStart, at } = await findEndRecord(source);
  let count = u16(tail, at + 10);
  let cdSize = u32(tail, at + 12);
  let cdOffset = u32(tail, at + 16);
  const locatorAt = at - 20;
  if (locatorAt >= 0 && u32(tail, locatorAt) === ZIP64_LOCATOR_SIG) {
    const eocd64Offset = u64(tail, locatorAt + 8);
    if (!(eocd64Offset + 56 <= source.size)) throw corrupt(source, "ZIP64 end record offset is past the end of the file", tailStart + locatorAt);
    const rec = await source.read(eocd64Offset, 56);
    if (u32(rec, 0) !== ZIP64_EOCD_SIG) throw corrupt(source, "bad ZIP64 end record signature", eocd64Offset);
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (!(cdOffset + cdSize <= source.size) || count > MAX_ENTRIES || count * 46 > cdSize) {
    throw corrupt(source, `zip central directory (${count} entries, ${cdSize} bytes at ${cdOffset}) does not fit the file`, tailStart + at);
  }
  const cd = await source.read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || u32(cd, p) !== CENTRAL_SIG) throw corrupt(source, `bad zip central directory entry #${i}`, cdOffset + p);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let size = u32(cd, p + 24);
    const nameLength = u16(cd, p + 28);
    const extraLength = u16(cd, p + 30);
    const commentLength = u16(cd, p + 32);
    let localHeaderOffset = u32(cd, p + 42);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) throw corrupt(source, `zip central directory entry #${i} overruns the directory`, cdOffset + p);
    const name = fromUtf8(cd.subarray(p + 46, p + 46 + nameLength)).replace(/\\/g, "/");
    // ZIP64 extra: only the fields that overflowed are present, in the order size, csize, offset.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = u16(cd, e);
      const len = u16(cd, e + 2);
      if (id === 1) {
        let f = e + 4;
        if (size === 0xffffffff && f + 8 <= e + 4 + len) (size = u64(cd, f)), (f += 8);
        if (compressedSize === 0xffffffff && f + 8 <= e + 4 + len) (compressedSize = u64(cd, f)), (f += 8);
        if (localHeaderOffset === 0xffffffff && f + 8 <= e + 4 + len) localHeaderOffset = u64(cd, f);
      }
      e += 4 + len;
    }
    if (!(localHeaderOffset + 30 + compressedSize <= source.size)) {
      throw corrupt(source, `zip entry data (${compressedSize} bytes at ${localHeaderOffset}) is past the end of the file`, cdOffset + p, name);
    }
    // Python's zipfile (Keras, numpy) reads the last member of a name, other readers the first:
    // which bytes are "the" model would depend on the reader.
    if (names.has(name))
      throw corrupt(source, `the zip holds two members named ${name} (Python's zipfile reads the last, others the first): refused`, cdOffset + p, name);
    names.add(name);
    entries.push({ name, method, flags, compressedSize, size, crc32: crc, localHeaderOffset });
    p = end;
  }
  return new Archive(source, entries);
}

class Archive implements ZipArchive {
  private readonly byName = new Map<string, ZipEntry>();
  private readonly offsets = new Map<ZipEntry, number>();

  constructor(
    readonly source: ByteSource,
    readonly entries: ZipEntry[],
  ) {
    for (const entry of entries) if (!this.byName.has(entry.name)) this.byName.set(entry.name, entry);
  }

  find(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  async dataOffset(entry: ZipEntry): Promise<number> {
    const cached = this.offsets.get(entry);
    if (cached !== undefined) return cached;
    const header = await this.source.read(entry.localHeaderOffset, 30);
    if (u32(header, 0) !== LOCAL_SIG) throw corrupt(this.source, "bad zip local header signature", entry.localHeaderOffset, entry.name);
    const offset = entry.localHeaderOffset + 30 + u16(header, 26) + u16(header, 28);
    if (offset + entry.compressedSize > this.source.size) {
      throw new WeightbridgeError("truncated", `zip entry needs ${entry.compressedSize} bytes at ${offset} past the end of the file`, {
        file: this.source.name,
        path: entry.name,
        offset,
      });
    }
    this.offsets.set(entry, offset);
    return offset;
  }

  async read(entry: ZipEntry): Promise<Uint8Array> {
    const offset = await this.dataOffset(entry);
    const raw = await this.source.read(offset, entry.compressedSize);
    if (entry.method === 0) {
      if (entry.size !== entry.compressedSize) throw corrupt(this.source, "stored zip entry has different sizes", offset, entry.name);
      return raw;
    }
    if (entry.method !== 8) {
      throw new WeightbridgeError("unsupported", `zip compression method ${entry.method} (only stored and deflate)`, {
        file: this.source.name,
        path: entry.name,
      });
    }
    if (entry.size > MAX_INFLATED) throw new WeightbridgeError("unsupported", "compressed zip entry over 2 GiB", { file: this.source.name, path: entry.name });
    // Deflate cannot expand more than ~1032:1: a bigger declared size is a lie we must not allocate.
    if (entry.size > entry.compressedSize * 1032 + 1024) {
      throw corrupt(this.source, `deflated entry of ${entry.compressedSize} bytes cannot hold the ${entry.size} bytes it declares`, offset, entry.name);
    }
    let out: Uint8Array;
    try {
      out = inflateSync(raw, { out: new Uint8Array(entry.size) });
    } catch (e) {
      throw corrupt(this.source, `cannot inflate: ${(e as Error).message}`, offset, entry.name);
    }
    if (out.byteLength !== entry.size) throw corrupt(this.source, `inflated to ${out.byteLength} bytes, expected ${entry.size}`, offset, entry.name);
    return out;
  }
}
