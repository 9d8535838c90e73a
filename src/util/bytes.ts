/** Little helpers for binary layouts. 64-bit values are JS numbers: exact up to 2^53. */

export function u16(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8);
}

export function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** Unsigned 64-bit little-endian as a number; values past 2^53 come back as Infinity (caller rejects). */
export function u64(bytes: Uint8Array, at: number): number {
  const low = u32(bytes, at);
  const high = u32(bytes, at + 4);
  return high >= 0x200000 ? Infinity : high * 0x100000000 + low;
}

/** A growable little-endian byte writer for headers and small records. */
export class ByteWriter {
  private buffer = new Uint8Array(256);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buffer[this.length++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buffer[this.length++] = v & 0xff;
    this.buffer[this.length++] = (v >>> 8) & 0xff;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    for (let i = 0; i < 4; i++) this.buffer[this.length++] = (v >>> (8 * i)) & 0xff;
    return this;
  }
  u64(v: number): this {
    this.u32(v % 0x100000000);
    return this.u32(Math.floor(v / 0x100000000));
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
    return this;
  }
  fill(value: number, count: number): this {
    this.ensure(count);
    this.buffer.fill(value, this.length, this.length + count);
    this.length += count;
    return this;
  }
  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
