import type { ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";

const WINDOW = 1 << 20;
/** Strict, and keeping a leading U+FEFF: vocabularies hold the BOM as a token of its own. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads a GGUF header front to back through a window of the source, checking every length
 * against the bytes the file really has before anything of that length is read or allocated.
 */
export class HeaderCursor {
  private window: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;
  position = 0;

  constructor(private readonly source: ByteSource) {}

  get remaining(): number {
    return this.source.size - this.position;
  }

  truncated(what: string, offset = this.position): WeightbridgeError {
    return new WeightbridgeError("truncated", `the file ends inside ${what} (GGUF header, ${this.source.size} bytes)`, { file: this.source.name, offset });
  }

  corrupt(message: string, offset = this.position): WeightbridgeError {
    return new WeightbridgeError("corrupt", message, { file: this.source.name, offset });
  }

  /** Makes `n` bytes at the position readable; fails when the file is shorter. */
  private async need(n: number, what: string): Promise<number> {
    if (n > this.remaining) throw this.truncated(what);
    const at = this.position - this.windowStart;
    if (at >= 0 && at + n <= this.window.byteLength) return at;
    this.windowStart = this.position;
    this.window = await this.source.read(this.position, Math.min(Math.max(n, WINDOW), this.remaining));
    this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
    return 0;
  }

  async u8(what: string): Promise<number> {
    const at = await this.need(1, what);
    this.position += 1;
    return this.view.getUint8(at);
  }

  async u32(what: string): Promise<number> {
    const at = await this.need(4, what);
    this.position += 4;
    return this.view.getUint32(at, true);
  }

  /** A u64 as a bigint (counts and sizes are checked by the caller before use). */
  async u64(what: string): Promise<bigint> {
    const at = await this.need(8, what);
    this.position += 8;
    return this.view.getBigUint64(at, true);
  }

  /** A u64 that must be at most `limit` (which the caller derives from the file's size). */
  async count(what: string, limit: number): Promise<number> {
    const start = this.position;
    const value = await this.u64(what);
    if (value > BigInt(limit)) {
      throw new WeightbridgeError("truncated", `${what} is ${value}, more than the ${this.remaining} bytes left in the file can hold`, {
        file: this.source.name,
        offset: start,
      });
    }
    return Number(value);
  }

  /** `n` bytes, checked against the file first. */
  async bytes(n: number, what: string): Promise<Uint8Array> {
    if (n > this.remaining) throw this.truncated(what);
    if (n > WINDOW) {
      const bytes = await this.source.read(this.position, n);
      this.position += n;
      return bytes;
    }
    const at = await this.need(n, what);
    this.position += n;
    return this.window.subarray(at, at + n);
  }

  /** A GGUF string: u64 length, then UTF-8 bytes. */
  async string(what: string): Promise<string> {
    const start = this.position;
    const length = await this.u64(`the length of ${what}`);
    if (length > BigInt(this.remaining)) {
      throw new WeightbridgeError("truncated", `${what} declares ${length} bytes but only ${this.remaining} remain in the file`, {
        file: this.source.name,
        offset: start,
      });
    }
    const bytes = await this.bytes(Number(length), what);
    try {
      return UTF8.decode(bytes);
    } catch {
      // A replacement character would silently change the value when it is written back.
      throw new WeightbridgeError("unsupported", `${what} is not valid UTF-8`, { file: this.source.name, offset: start });
    }
  }

  /** A scalar of a fixed size, read through a DataView. */
  async scalar<T>(size: number, what: string, get: (view: DataView, at: number) => T): Promise<T> {
    const at = await this.need(size, what);
    this.position += size;
    return get(this.view, at);
  }
}
