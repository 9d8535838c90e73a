import type { RandomAccessFile } from "../io/random-access.js";
import type { H5Module } from "./module.js";
import { WeightbridgeError, type ErrorLocation } from "../errors.js";

/**
 * Dataset bytes written by us rather than by libhdf5. Handing libhdf5 a whole tensor means
 * copying it into the wasm heap (which then stays as big as the biggest tensor) and having
 * libhdf5 write it from there in one write of cold memory; on this path both copies cost several
 * times what small reads and writes that move the bytes straight from source to output cost.
 *
 * h5wasm 0.10.3 exports no H5Dget_offset, so libhdf5 itself tells where the bytes go: the dataset
 * is created contiguous from a stand-in pointer, and the one write libhdf5 then makes from that
 * pointer, of the dataset's length, is skipped by the file node, its position noted. libhdf5
 * writes a contiguous dataset's data straight from the caller's memory (no type conversion, and
 * larger than its 64 KiB sieve buffer), so it never reads the stand-in's missing bytes.
 */
export class RawDataWriter {
  private expected: { pointer: number; length: number; position?: number } | undefined;

  constructor(
    private readonly module: H5Module,
    private readonly file: RandomAccessFile,
  ) {}

  /** For the file node: whether a write from heap offset `pointer` is the data expected (it is then skipped). */
  claims(pointer: number, length: number, position: number): boolean {
    const e = this.expected;
    if (!e || e.position !== undefined || pointer !== e.pointer || length !== e.length) return false;
    e.position = position;
    return true;
  }

  /**
   * Runs `create`, which must have libhdf5 write `length` bytes from the pointer it is given,
   * and returns the file offset libhdf5 gave them.
   */
  placeOf(length: number, create: (pointer: number) => void, location: ErrorLocation): number {
    // A live allocation, so no buffer libhdf5 writes metadata from starts at the same address.
    const pointer = this.module._malloc(1);
    if (!pointer) throw new WeightbridgeError("unsupported", "cannot allocate in the HDF5 heap", location);
    this.expected = { pointer, length };
    try {
      create(pointer);
      const { position } = this.expected;
      if (position === undefined) {
        throw new WeightbridgeError("unsupported", `libhdf5 did not write the dataset's ${length} bytes in one piece as expected`, location);
      }
      return position;
    } finally {
      this.expected = undefined;
      this.module._free(pointer);
    }
  }

  /** Writes exactly `length` bytes from `pieces` at `position`, each piece as it comes. */
  async fill(position: number, length: number, pieces: AsyncIterable<Uint8Array>, location: ErrorLocation): Promise<void> {
    const wrong = () => new WeightbridgeError("corrupt", `tensor data gave other than its ${length} bytes`, location);
    let at = 0;
    for await (const piece of pieces) {
      if (at + piece.byteLength > length) throw wrong();
      this.file.write(piece, position + at);
      at += piece.byteLength;
    }
    if (at !== length) throw wrong();
  }
}
