import type { ByteSink } from "./sink.js";
import { WeightbridgeError } from "../errors.js";
import { crc32 } from "../util/crc32.js";
import { utf8 } from "../util/bytes.js";
import { ByteWriter } from "../util/byte-writer.js";

/**
 * A streaming zip writer in PyTorch's style: STORED entries, sizes and CRC in a data descriptor
 * after the data, payloads aligned by a padding extra field ('FB' + 'Z'*n), ZIP64 when needed and
 * a ZIP64 end record always (as torch's miniz does). Entries are written one at a time.
 */
export interface ZipWriterOptions {
  /** Payload alignment in bytes (torch: 64). 0 or 1 = none. */
  alignment?: number;
  /** Always write ZIP64 end records (torch does). */
  alwaysZip64End?: boolean;
}

/** An entry written as its bytes come (ZipWriter.begin). */
export interface ZipEntryWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Writes the data descriptor and records the entry for the central directory. */
  close(): Promise<void>;
}

const MAX32 = 0xffffffff;
const CHUNK = 16 << 20;

export class ZipWriter {
  // The central directory, encoded as entries are added: an object per record held ~0.2 KiB each
  // of a 10^6-tensor checkpoint's entries until the end.
  private readonly central = new ByteWriter();
  private count = 0;
  private readonly alignment: number;
  private readonly alwaysZip64End: boolean;

  constructor(
    private readonly sink: ByteSink,
    options: ZipWriterOptions = {},
  ) {
    this.alignment = options.alignment ?? 64;
    this.alwaysZip64End = options.alwaysZip64End ?? true;
  }

  /**
   * Writes an entry whose bytes come as chunks totalling exactly `size`. `knownCrc`, when the
   * bytes are a copy of a record whose CRC-32 is known, is used instead of computing it.
   */
  async add(name: string, size: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, knownCrc?: number): Promise<void> {
    const entry = await this.open(name, size);
    for await (const chunk of chunks) await entry.write(chunk, knownCrc !== undefined);
    if (entry.written !== size) {
      throw new WeightbridgeError("corrupt", `zip entry ${name} got ${entry.written} bytes, expected ${size}`, { file: this.sink.name });
    }
    await entry.close(knownCrc);
  }

  /**
   * Starts an entry whose size is known only at its end (a pickle written as it is made): the
   * same bytes `add` gives an entry under 4 GiB, whose sizes and CRC are in the data descriptor.
   * Its local header cannot announce ZIP64 afterwards, so 4 GiB or more is refused.
   */
  async begin(name: string): Promise<ZipEntryWriter> {
    const entry = await this.open(name, undefined);
    return {
      write: async (chunk) => {
        await entry.write(chunk, false);
        if (entry.written >= MAX32)
          throw new WeightbridgeError("unsupported", `zip entry ${name} reached 4 GiB while it was written`, { file: this.sink.name });
      },
      close: () => entry.close(undefined),
    };
  }

  /** Writes the local header; `size` undefined = not known yet (under 4 GiB, not empty). */
  private async open(name: string, size: number | undefined) {
    const nameBytes = utf8(name);
    const offset = this.sink.position;
    const big = size !== undefined && size >= MAX32;
    const farOffset = offset >= MAX32;
    const descriptor = size === undefined || size > 0;

    const extra = new ByteWriter();
    if (big || farOffset) {
      extra.u16(1).u16((big ? 16 : 0) + (farOffset ? 8 : 0));
      if (big) extra.u64(size).u64(size);
      if (farOffset) extra.u64(offset);
    }
    if (this.alignment > 1) {
      const start = offset + 30 + nameBytes.length + extra.length + 4;
      const pad = (this.alignment - (start % this.alignment)) % this.alignment;
      extra.u16(0x4246).u16(pad).fill(0x5a, pad); // 'FB'
    }
    const extraBytes = extra.result();

    const header = new ByteWriter()
      .u32(0x04034b50)
      .u16(big || farOffset ? 45 : 0)
      .u16(descriptor ? 0x0808 : 0x0800)
      .u16(0) // STORED
      .u32(0) // time
      .u32(0) // crc (in the descriptor)
      .u32(big ? MAX32 : 0)
      .u32(big ? MAX32 : 0)
      .u16(nameBytes.length)
      .u16(extraBytes.length)
      .bytes(nameBytes)
      .bytes(extraBytes);
    await this.sink.write(header.result());

    let crc = 0;
    const entry = {
      written: 0,
      write: async (chunk: Uint8Array, crcKnown: boolean) => {
        for (let at = 0; at < chunk.byteLength; at += CHUNK) {
          const piece = chunk.subarray(at, Math.min(at + CHUNK, chunk.byteLength));
          entry.written += piece.byteLength;
          // The CRC is computed here while the sink writes the same (unchanging) bytes on an I/O thread.
          const writing = this.sink.write(piece);
          if (!crcKnown) crc = crc32(piece, crc);
          await writing;
        }
      },
      close: async (knownCrc: number | undefined) => {
        const written = entry.written;
        if (knownCrc !== undefined) crc = knownCrc;
        if (descriptor) {
          const d = new ByteWriter().u32(0x08074b50).u32(crc);
          if (big || farOffset) d.u64(written).u64(written);
          else d.u32(written).u32(written);
          await this.sink.write(d.result());
        }
        this.addCentral(nameBytes, crc, written, offset, descriptor);
      },
    };
    return entry;
  }

  private addCentral(name: Uint8Array, crc: number, size: number, offset: number, descriptor: boolean): void {
    const needs64 = size >= MAX32 || offset >= MAX32;
    const extra = new ByteWriter();
    if (needs64) {
      extra.u16(1).u16((size >= MAX32 ? 16 : 0) + (offset >= MAX32 ? 8 : 0));
      if (size >= MAX32) extra.u64(size).u64(size);
      if (offset >= MAX32) extra.u64(offset);
    }
    const extraBytes = extra.result();
    this.central
      .u32(0x02014b50)
      .u16(needs64 ? 45 : 0)
      .u16(needs64 ? 45 : 0)
      .u16(descriptor ? 0x0808 : 0x0800)
      .u16(0)
      .u32(0)
      .u32(crc)
      .u32(size >= MAX32 ? MAX32 : size)
      .u32(size >= MAX32 ? MAX32 : size)
      .u16(name.length)
      .u16(extraBytes.length)
      .u16(0) // comment
      .u16(0) // disk
      .u16(0) // internal attributes
      .u32(0) // external attributes
      .u32(offset >= MAX32 ? MAX32 : offset)
      .bytes(name)
      .bytes(extraBytes);
    this.count++;
  }

  /** Writes the central directory and end records. */
  async finish(): Promise<void> {
    const cdOffset = this.sink.position;
    for (const chunk of this.central.chunks()) await this.sink.write(chunk);
    const cdSize = this.sink.position - cdOffset;
    const count = this.count;
    const needs64 = this.alwaysZip64End || count >= 0xffff || cdOffset >= MAX32 || cdSize >= MAX32;
    const end = new ByteWriter();
    if (needs64) {
      const eocd64Offset = this.sink.position;
      end
        .u32(0x06064b50)
        .u64(44)
        .u16(0x031e)
        .u16(45)
        .u32(0)
        .u32(0)
        .u64(count)
        .u64(count)
        .u64(cdSize)
        .u64(cdOffset)
        .u32(0x07064b50)
        .u32(0)
        .u64(eocd64Offset)
        .u32(1);
    }
    end
      .u32(0x06054b50)
      .u16(0)
      .u16(0)
      .u16(Math.min(count, 0xffff))
      .u16(Math.min(count, 0xffff))
      .u32(Math.min(cdSize, MAX32))
      .u32(cdOffset >= MAX32 ? MAX32 : cdOffset)
      .u16(0);
    await this.sink.write(end.result());
  }
}
