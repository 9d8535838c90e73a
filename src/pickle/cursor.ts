/**
 * Bounds-checked reads over a pickle; every length is checked before anything is allocated.
 * In-memory input is read in place (bytes values are views into it). Other input is read
 * through a window that slides forward; bytes handed out are then copies, so nothing keeps a
 * window alive, and payloads bigger than the window are read on their own.
 */
import { WeightbridgeError } from "../errors.js";
import type { PickleInput } from "./input.js";

/** Default window for non-memory input: pickle structure is small, big payloads bypass it. */
export const DEFAULT_WINDOW_BYTES = 256 << 10;

export class PickleCursor {
  pos: number;
  private buf: Uint8Array;
  private view: DataView;
  /** Input offset of buf[0]. */
  private bufStart = 0;
  private readonly inPlace: boolean;

  constructor(
    readonly input: PickleInput,
    start: number,
    readonly file: string | undefined,
    private readonly windowBytes = DEFAULT_WINDOW_BYTES,
  ) {
    this.pos = start;
    this.inPlace = input.whole !== undefined;
    this.buf = input.whole ?? new Uint8Array(0);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get size(): number {
    return this.input.size;
  }

  get remaining(): number {
    return this.input.size - this.pos;
  }

  /** Throws 'truncated' unless `n` more bytes exist; `what` names the opcode being read. */
  need(n: number, what: string, opOffset: number): void {
    if (n > this.remaining) {
      throw new WeightbridgeError("truncated", `pickle ends inside ${what} at byte ${opOffset} (needs ${n} bytes, ${this.remaining} left)`, {
        file: this.file,
        offset: opOffset,
      });
    }
  }

  /** Makes buf cover [pos, pos + n) (n already checked against the input size); returns pos's index in buf. */
  private ensure(n: number): number {
    const i = this.pos - this.bufStart;
    if (i >= 0 && i + n <= this.buf.length) return i;
    const length = Math.min(Math.max(this.windowBytes, n), this.input.size - this.pos);
    this.buf = this.input.bytesAt(this.pos, length);
    this.bufStart = this.pos;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return 0;
  }

  /** The next byte (the opcode); the caller has checked `remaining`. */
  opcode(): number {
    const i = this.ensure(1);
    this.pos++;
    return this.buf[i]!;
  }

  u8(what: string, at: number): number {
    this.need(1, what, at);
    return this.opcode();
  }

  u16(what: string, at: number): number {
    this.need(2, what, at);
    const i = this.ensure(2); // before reading this.view: ensure may replace it
    const v = this.view.getUint16(i, true);
    this.pos += 2;
    return v;
  }

  u32(what: string, at: number): number {
    this.need(4, what, at);
    const i = this.ensure(4); // before reading this.view: ensure may replace it
    const v = this.view.getUint32(i, true);
    this.pos += 4;
    return v;
  }

  i32(what: string, at: number): number {
    this.need(4, what, at);
    const i = this.ensure(4); // before reading this.view: ensure may replace it
    const v = this.view.getInt32(i, true);
    this.pos += 4;
    return v;
  }

  /** A uint64 length; anything beyond the remaining bytes is reported as truncation. */
  u64(what: string, at: number): number {
    this.need(8, what, at);
    const i = this.ensure(8); // before reading this.view: ensure may replace it
    const v = this.view.getBigUint64(i, true);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }

  f64be(what: string, at: number): number {
    this.need(8, what, at);
    const i = this.ensure(8); // before reading this.view: ensure may replace it
    const v = this.view.getFloat64(i, false);
    this.pos += 8;
    return v;
  }

  /** The next n bytes: a view of in-memory input, else a buffer of their own. */
  take(n: number, what: string, at: number): Uint8Array {
    this.need(n, what, at);
    let out: Uint8Array;
    if (this.inPlace) out = this.buf.subarray(this.pos, this.pos + n);
    else if (n > this.windowBytes) out = this.input.bytesAt(this.pos, n);
    else {
      const i = this.ensure(n);
      out = this.buf.slice(i, i + n);
    }
    this.pos += n;
    return out;
  }

  /** Steps over the next n bytes without reading them; returns where they start. */
  skip(n: number, what: string, at: number): number {
    this.need(n, what, at);
    const offset = this.pos;
    this.pos += n;
    return offset;
  }

  /** Bytes up to (not including) the next newline; the newline is consumed. */
  line(what: string, at: number): Uint8Array {
    let want = 1;
    for (;;) {
      const i = this.ensure(Math.min(want, this.remaining));
      const available = Math.min(this.buf.length - i, this.remaining);
      const end = this.buf.subarray(i, i + available).indexOf(0x0a);
      if (end >= 0) {
        const out = this.inPlace ? this.buf.subarray(i, i + end) : this.buf.slice(i, i + end);
        this.pos += end + 1;
        return out;
      }
      if (available >= this.remaining) {
        throw new WeightbridgeError("truncated", `pickle ends inside ${what} at byte ${at} (no newline)`, { file: this.file, offset: at });
      }
      // A line longer than the window: read a window twice as long from the line's start.
      want = Math.max(available, this.windowBytes) * 2;
    }
  }
}
