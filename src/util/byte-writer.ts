/** An append-only little-endian byte buffer (headers, records, pickles); large payloads stay separate chunks (no copy). */
import { WeightbridgeError } from "../errors.js";

const CHUNK = 64 * 1024;
const BIG = 16 * 1024;
/**
 * The buffer starts this small and doubles up to CHUNK: most writers are a zip record's or a
 * file's few header bytes, and a fresh 64 KiB each (zeroed, 16 pages) cost 20k page faults per
 * 361-tensor .pth written.
 */
const FIRST = 256;

export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private buf = new Uint8Array(FIRST);
  private view = new DataView(this.buf.buffer);
  private used = 0;
  private flushed = 0;

  get length(): number {
    return this.flushed + this.used;
  }

  private room(n: number): void {
    const need = this.used + n;
    if (need <= this.buf.length) return;
    if (need <= CHUNK) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, CHUNK));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
      return;
    }
    this.flush();
    if (n > this.buf.length) {
      this.buf = new Uint8Array(n);
      this.view = new DataView(this.buf.buffer);
    }
  }

  private flush(): void {
    if (this.used === 0) return;
    this.parts.push(this.buf.slice(0, this.used));
    this.flushed += this.used;
    this.used = 0;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.used++] = v;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.view.setUint16(this.used, v, true);
    this.used += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.used, v, true);
    this.used += 4;
    return this;
  }

  i32(v: number): this {
    this.room(4);
    this.view.setInt32(this.used, v, true);
    this.used += 4;
    return this;
  }

  u64(v: number): this {
    this.room(8);
    this.view.setBigUint64(this.used, BigInt(v), true);
    this.used += 8;
    return this;
  }

  f64be(v: number): this {
    this.room(8);
    this.view.setFloat64(this.used, v, false);
    this.used += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    if (b.length >= BIG) {
      this.flush();
      this.parts.push(b);
      this.flushed += b.length;
      return this;
    }
    this.room(b.length);
    this.buf.set(b, this.used);
    this.used += b.length;
    return this;
  }

  /** `count` copies of one byte value (padding). */
  fill(value: number, count: number): this {
    this.room(count);
    this.buf.fill(value, this.used, this.used + count);
    this.used += count;
    return this;
  }

  /** The output as chunks (large payloads are the caller's own arrays, not copies). */
  chunks(): Uint8Array[] {
    this.flush();
    return this.parts;
  }

  /** The output so far as chunks, which the writer forgets: it continues empty (a pickle handed on as it is made). */
  take(): Uint8Array[] {
    const parts = this.chunks().splice(0);
    this.flushed = 0;
    return parts;
  }

  /** The output as one array. */
  result(): Uint8Array {
    const parts = this.chunks();
    if (parts.length === 1) return parts[0]!;
    if (this.length > 2 ** 31) {
      throw new WeightbridgeError("unsupported", `${this.length} bytes are too many for one buffer; write the chunks instead`);
    }
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
