import { WeightbridgeError } from "../../errors.js";
import { crc32c, unmaskCrc32c } from "../../util/crc32c.js";
import { u32 } from "../../util/bytes.js";
import { snappyDecompress } from "../../util/snappy.js";

// The `.index` file of a TensorFlow tensor bundle is a LevelDB-format table (TensorFlow's
// tensorflow/core/lib/io/table*): data blocks of prefix-compressed key/value entries with
// restart points, an index block mapping each data block's last key to its BlockHandle, and a
// 48-byte footer (metaindex handle, index handle, padding, 8-byte magic). Every block is followed
// by a 1-byte compression type and a masked CRC-32C of the block plus that byte.

export const TABLE_MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]; // 0xdb4775248b80fb57 LE
export const FOOTER_BYTES = 48;
export const BLOCK_TRAILER_BYTES = 5;
const COMPRESSION_NONE = 0;
const COMPRESSION_SNAPPY = 1;

export interface BlockHandle {
  offset: number;
  size: number;
}

export interface TableEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** Reads a LevelDB varint (up to 64 bits; exact below 2^53) at `at`: [value, next offset]. */
export function readTableVarint(bytes: Uint8Array, at: number, limit: number, file: string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= limit) throw new WeightbridgeError("corrupt", "table varint runs past the end of its block", { file, offset: at });
    const b = bytes[at++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, at];
    scale *= 128;
  }
  throw new WeightbridgeError("corrupt", "table varint longer than 10 bytes", { file, offset: at });
}

export function hasTableMagic(tail: Uint8Array): boolean {
  if (tail.byteLength < 8) return false;
  const at = tail.byteLength - 8;
  return TABLE_MAGIC.every((b, i) => tail[at + i] === b);
}

function readHandle(bytes: Uint8Array, at: number, limit: number, file: string): [BlockHandle, number] {
  const [offset, afterOffset] = readTableVarint(bytes, at, limit, file);
  const [size, next] = readTableVarint(bytes, afterOffset, limit, file);
  return [{ offset, size }, next];
}

/** The contents of one block, its trailer checked. */
function blockAt(table: Uint8Array, handle: BlockHandle, file: string): Uint8Array {
  const end = handle.offset + handle.size;
  if (end + BLOCK_TRAILER_BYTES > table.byteLength - FOOTER_BYTES) {
    throw new WeightbridgeError("truncated", `table block ${handle.offset}+${handle.size} runs past the end of the file`, { file, offset: handle.offset });
  }
  const type = table[end]!;
  const stored = u32(table, end + 1);
  const actual = crc32c(table.subarray(handle.offset, end + 1));
  if (unmaskCrc32c(stored) !== actual) {
    throw new WeightbridgeError("corrupt", `table block checksum mismatch (stored ${unmaskCrc32c(stored).toString(16)}, computed ${actual.toString(16)})`, {
      file,
      offset: handle.offset,
    });
  }
  if (type === COMPRESSION_SNAPPY) return snappyDecompress(table.subarray(handle.offset, end), file);
  if (type !== COMPRESSION_NONE) throw new WeightbridgeError("corrupt", `unknown table block compression type ${type}`, { file, offset: end });
  return table.subarray(handle.offset, end);
}

/** The entries of one block, keys re-assembled from their shared prefixes. */
function* blockEntries(block: Uint8Array, blockOffset: number, file: string): Generator<TableEntry> {
  if (block.byteLength < 4) throw new WeightbridgeError("corrupt", "table block shorter than its restart count", { file, offset: blockOffset });
  const restarts = u32(block, block.byteLength - 4);
  const restartsAt = block.byteLength - 4 - 4 * restarts;
  if (restarts === 0 || restartsAt < 0)
    throw new WeightbridgeError("corrupt", `table block declares ${restarts} restart points`, { file, offset: blockOffset });
  let key = new Uint8Array(0);
  let at = 0;
  while (at < restartsAt) {
    const entryAt = at;
    let shared: number;
    let unshared: number;
    let valueLength: number;
    [shared, at] = readTableVarint(block, at, restartsAt, file);
    [unshared, at] = readTableVarint(block, at, restartsAt, file);
    [valueLength, at] = readTableVarint(block, at, restartsAt, file);
    if (shared > key.byteLength || at + unshared + valueLength > restartsAt) {
      throw new WeightbridgeError("corrupt", "table entry overruns its block", { file, offset: blockOffset + entryAt });
    }
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(block.subarray(at, at + unshared), shared);
    key = next;
    at += unshared;
    yield { key, value: block.subarray(at, at + valueLength) };
    at += valueLength;
  }
}

/** All entries of a table held in memory, in key order. */
export function readTable(table: Uint8Array, file: string): TableEntry[] {
  return [...tableEntries(table, file)];
}

/** The entries of a table held in memory, in key order, one at a time (10^6 entries are never a list). */
export function* tableEntries(table: Uint8Array, file: string): Generator<TableEntry> {
  if (table.byteLength < FOOTER_BYTES) {
    throw new WeightbridgeError("truncated", `a tensor bundle index is at least ${FOOTER_BYTES} bytes; this one is ${table.byteLength}`, { file });
  }
  if (!hasTableMagic(table))
    throw new WeightbridgeError("bad-magic", "no LevelDB table magic at the end of the file (truncated or not a TensorFlow .index)", {
      file,
      offset: table.byteLength - 8,
    });
  const footerAt = table.byteLength - FOOTER_BYTES;
  const footerEnd = table.byteLength - 8;
  const [, afterMeta] = readHandle(table, footerAt, footerEnd, file);
  const [indexHandle] = readHandle(table, afterMeta, footerEnd, file);
  for (const indexEntry of blockEntries(blockAt(table, indexHandle, file), indexHandle.offset, file)) {
    const [handle] = readHandle(indexEntry.value, 0, indexEntry.value.byteLength, file);
    yield* blockEntries(blockAt(table, handle, file), handle.offset, file);
  }
}
