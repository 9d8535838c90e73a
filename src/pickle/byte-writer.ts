/** An append-only byte buffer for the pickler; large payloads are kept as separate chunks (no copy). */
import { WeightbridgeError } from "../errors.js";

const CHUNK = 64 * 1024;
const BIG = 16 * 1024;

export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private buf = new Uint8Array(CHUNK);
  private view = new DataView(this.buf.buffer);
  private used = 0;
  private flushed = 0;

  get length(): number {
    return this.flushed + this.used;
  }

  private room(n: number): void {
    if (this.used + n <= this.buf.length) return;
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

  u8(v: number): void {
    this.room(1);
    this.buf[this.used++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.used, v, true);
    this.used += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.used, v, true);
    this.used += 4;
  }

  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.used, v, true);
    this.used += 4;
  }

  u64(v: number): void {
    this.room(8);
    this.view.setBigUint64(this.used, BigInt(v), true);
    this.used += 8;
  }

  f64be(v: number): void {
    this.room(8);
    this.view.setFloat64(this.used, v, false);
    this.used += 8;
  }

  bytes(b: Uint8Array): void {
    if (b.length >= BIG) {
      this.flush();
      this.parts.push(b);
      this.flushed += b.length;
      return;
    }
    this.room(b.length);
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  /** The output as chunks (large payloads are the caller's own arrays, not copies). */
  chunks(): Uint8Array[] {
    this.flush();
    return this.parts;
  }

  /** The output as one array. */
  concat(): Uint8Array {
    const parts = this.chunks();
    if (parts.length === 1) return parts[0]!;
    if (this.length > 2 ** 31) {
      throw new WeightbridgeError("unsupported", `pickle of ${this.length} bytes is too large for one buffer; use pickleChunks`);
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
