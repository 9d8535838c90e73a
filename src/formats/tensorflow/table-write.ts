import { crc32c, maskCrc32c } from "../../util/crc32c.js";
import { ByteWriter } from "../../util/byte-writer.js";
import { pushVarint as varint } from "../../protobuf/wire.js";
import { TABLE_MAGIC, FOOTER_BYTES, type BlockHandle, type TableEntry } from "./table-read.js";

// Writes a LevelDB-format table the way TensorFlow's table builder does for a bundle index:
// uncompressed blocks of at most ~256 KiB, a restart point every 16 keys, an empty metaindex
// block, an index block keyed by shortest separators, and the 48-byte footer.

const BLOCK_SIZE = 256 * 1024;
const RESTART_INTERVAL = 16;

export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

class BlockBuilder {
  private bytes: number[] = [];
  private restarts: number[] = [0];
  private counter = 0;
  private last: Uint8Array = new Uint8Array(0);
  count = 0;

  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.counter < RESTART_INTERVAL) {
      const n = Math.min(this.last.length, key.length);
      while (shared < n && this.last[shared] === key[shared]) shared++;
    } else {
      this.restarts.push(this.bytes.length);
      this.counter = 0;
    }
    varint(this.bytes, shared);
    varint(this.bytes, key.length - shared);
    varint(this.bytes, value.length);
    for (let i = shared; i < key.length; i++) this.bytes.push(key[i]!);
    for (const b of value) this.bytes.push(b);
    this.last = key;
    this.counter++;
    this.count++;
  }

  estimatedSize(): number {
    return this.bytes.length + 4 * this.restarts.length + 4;
  }

  finish(): Uint8Array {
    const w = new ByteWriter();
    w.bytes(Uint8Array.from(this.bytes));
    for (const r of this.restarts) w.u32(r);
    w.u32(this.restarts.length);
    return w.result();
  }
}

/** The shortest key k with start <= k < limit (LevelDB's BytewiseComparator::FindShortestSeparator). */
function shortestSeparator(start: Uint8Array, limit: Uint8Array): Uint8Array {
  const n = Math.min(start.length, limit.length);
  let diff = 0;
  while (diff < n && start[diff] === limit[diff]) diff++;
  if (diff < n) {
    const b = start[diff]!;
    if (b < 0xff && b + 1 < limit[diff]!) {
      const out = start.slice(0, diff + 1);
      out[diff] = b + 1;
      return out;
    }
  }
  return start;
}

/** The shortest key >= key (FindShortSuccessor). */
function shortSuccessor(key: Uint8Array): Uint8Array {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== 0xff) {
      const out = key.slice(0, i + 1);
      out[i] = key[i]! + 1;
      return out;
    }
  }
  return key;
}

function handleBytes(handle: BlockHandle): number[] {
  const out: number[] = [];
  varint(out, handle.offset);
  varint(out, handle.size);
  return out;
}

/**
 * Builds a table entry by entry (keys ascending, unique), handing out each block's bytes as it is
 * full: a bundle index of 10^6 entries is never held as a list of entries nor as one buffer.
 */
export class TableBuilder {
  private readonly index = new BlockBuilder();
  private block = new BlockBuilder();
  private pending: { handle: BlockHandle; lastKey: Uint8Array } | undefined;
  private lastKey: Uint8Array = new Uint8Array(0);
  /** Bytes handed out so far (add()'s and finish()'s results, in order, are the table). */
  private written = 0;

  /** Adds an entry; returns the bytes of a block it completed, to be written next. */
  add(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    if (this.pending) {
      this.index.add(shortestSeparator(this.pending.lastKey, key), Uint8Array.from(handleBytes(this.pending.handle)));
      this.pending = undefined;
    }
    this.block.add(key, value);
    this.lastKey = key;
    if (this.block.estimatedSize() < BLOCK_SIZE) return undefined;
    const out = new ByteWriter();
    this.pending = { handle: this.flushBlock(this.block, out), lastKey: key };
    this.block = new BlockBuilder();
    return out.result();
  }

  /** The last block, the metaindex and index blocks and the footer. */
  finish(): Uint8Array {
    const out = new ByteWriter();
    if (this.block.count > 0) this.pending = { handle: this.flushBlock(this.block, out), lastKey: this.lastKey };
    if (this.pending) this.index.add(shortSuccessor(this.pending.lastKey), Uint8Array.from(handleBytes(this.pending.handle)));
    const metaindex = this.flushBlock(new BlockBuilder(), out);
    const indexHandle = this.flushBlock(this.index, out);
    const footer = new Uint8Array(FOOTER_BYTES);
    footer.set([...handleBytes(metaindex), ...handleBytes(indexHandle)]);
    footer.set(TABLE_MAGIC, FOOTER_BYTES - 8);
    out.bytes(footer);
    return out.result();
  }

  private flushBlock(b: BlockBuilder, out: ByteWriter): BlockHandle {
    const contents = b.finish();
    const handle = { offset: this.written, size: contents.length };
    out.bytes(contents);
    out.u8(0);
    out.u32(maskCrc32c(crc32c(Uint8Array.of(0), crc32c(contents))));
    this.written += contents.length + 5;
    return handle;
  }
}

/** A table of `entries` (sorted by key, unique) as bytes. */
export function writeTable(entries: Iterable<TableEntry>): Uint8Array {
  const table = new TableBuilder();
  const out = new ByteWriter();
  for (const { key, value } of entries) {
    const block = table.add(key, value);
    if (block) out.bytes(block);
  }
  out.bytes(table.finish());
  return out.result();
}
