/** Bounds-checked reads over a pickle's bytes; every length is checked before anything is allocated. */
import { WeightbridgeError } from "../errors.js";

export class PickleCursor {
  pos: number;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, start: number, readonly file: string | undefined) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws 'truncated' unless `n` more bytes exist; `what` names the opcode being read. */
  need(n: number, what: string, opOffset: number): void {
    if (n > this.remaining) {
      throw new WeightbridgeError(
        "truncated",
        `pickle ends inside ${what} at byte ${opOffset} (needs ${n} bytes, ${this.remaining} left)`,
        { file: this.file, offset: opOffset },
      );
    }
  }

  u8(what: string, at: number): number {
    this.need(1, what, at);
    return this.bytes[this.pos++]!;
  }

  u16(what: string, at: number): number {
    this.need(2, what, at);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string, at: number): number {
    this.need(4, what, at);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(what: string, at: number): number {
    this.need(4, what, at);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A uint64 length; anything beyond the remaining bytes is reported as truncation. */
  u64(what: string, at: number): number {
    this.need(8, what, at);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }

  f64be(what: string, at: number): number {
    this.need(8, what, at);
    const v = this.view.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }

  /** A view (no copy) of the next n bytes. */
  take(n: number, what: string, at: number): Uint8Array {
    this.need(n, what, at);
    const out = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.pos, n);
    this.pos += n;
    return out;
  }

  /** Bytes up to (not including) the next newline; the newline is consumed. */
  line(what: string, at: number): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) {
      throw new WeightbridgeError("truncated", `pickle ends inside ${what} at byte ${at} (no newline)`, { file: this.file, offset: at });
    }
    const out = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return out;
  }
}
