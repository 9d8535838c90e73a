/**
 * Where the unpickler reads from: a whole pickle in memory, or a ByteSource read synchronously
 * through a sliding window (so a multi-GB .pdparams is interpreted without holding it).
 */
import { WeightbridgeError } from "../errors.js";
import type { ByteSource } from "../io/source.js";

export interface PickleInput {
  /** Label for error messages. */
  readonly name?: string;
  readonly size: number;
  /**
   * `n` bytes at `offset` (in range: the cursor checks first). The result must stay valid and
   * unchanged after later calls: a view into memory nobody writes, or a fresh buffer.
   */
  bytesAt(offset: number, n: number): Uint8Array;
  /** The whole input when it is already in memory: the cursor then hands out views, never copies. */
  readonly whole?: Uint8Array;
}

export function bytesInput(bytes: Uint8Array): PickleInput {
  return { size: bytes.byteLength, whole: bytes, bytesAt: (offset, n) => bytes.subarray(offset, offset + n) };
}

/** A ByteSource read through `readSync` (files, memory); browser Blobs have none and must be read first. */
export function sourceInput(source: ByteSource): PickleInput {
  const readSync = source.readSync?.bind(source);
  if (!readSync) {
    throw new WeightbridgeError("usage", "this byte source cannot be read synchronously, so its pickle must be read into memory first", { file: source.name });
  }
  return { name: source.name, size: source.size, bytesAt: (offset, n) => readSync(offset, n) };
}

export function toPickleInput(input: Uint8Array | PickleInput): PickleInput {
  return input instanceof Uint8Array ? bytesInput(input) : input;
}

/**
 * The source as pickle input: read through a window when it can be read synchronously (files,
 * memory), else (browser Blobs) read into memory first.
 */
export async function pickleInputOf(source: ByteSource): Promise<PickleInput> {
  if (source.readSync) return sourceInput(source);
  try {
    return bytesInput(await source.read(0, source.size));
  } catch (e) {
    if (e instanceof RangeError)
      throw new WeightbridgeError("unsupported", `pickle of ${source.size} bytes is too large to interpret in memory`, { file: source.name });
    throw e;
  }
}
