import { closeSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { fdatasync, read as readAsync } from "node:fs";
import { promisify } from "node:util";
import { basename, dirname, join } from "node:path";
import { ioError } from "./source.js";
import { trackTemporary, untrackTemporary } from "./temporaries.js";
import { backgroundFlusher } from "./background-flush.js";

/**
 * A file read and written at any position, synchronously: what a library that seeks back and
 * patches headers (libhdf5 under h5wasm) needs beneath it, so its output goes to disk as it is
 * produced instead of growing in memory.
 */
export interface RandomAccessFile {
  readonly name: string;
  /** Current length in bytes. */
  readonly size: number;
  /** Reads up to into.byteLength bytes at `position`; returns how many (0 at or past the end). */
  read(into: Uint8Array, position: number): number;
  write(bytes: Uint8Array, position: number): void;
  truncate(size: number): void;
  /** Waits for what runs in the background on the file (a flush to disk); throws what it ran into. */
  settle?(): Promise<void>;
}

const datasyncAt = promisify(fdatasync);

/**
 * Positioned access to an open descriptor; `name` is for error messages. Unless `flush` is false,
 * what is written is flushed to disk in the background as it accumulates (see background-flush.ts),
 * so that the final fsync of an output does not wait for all of it; whoever closes the descriptor
 * must settle() first.
 */
export function descriptorFile(fd: number, name: string, flush = true): RandomAccessFile {
  let size = fstatSync(fd).size;
  const flusher = flush ? backgroundFlusher({ datasync: () => datasyncAt(fd) }) : undefined;
  return {
    name,
    get size() {
      return size;
    },
    read(into, position) {
      let done = 0;
      try {
        while (done < into.byteLength) {
          const n = readSync(fd, into, done, into.byteLength - done, position + done);
          if (n === 0) break;
          done += n;
        }
      } catch (e) {
        throw ioError(e, name);
      }
      return done;
    },
    write(bytes, position) {
      let done = 0;
      try {
        flusher?.check();
        while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
      } catch (e) {
        throw ioError(e, name);
      }
      size = Math.max(size, position + bytes.byteLength);
      flusher?.wrote(done);
    },
    truncate(length) {
      try {
        ftruncateSync(fd, length);
      } catch (e) {
        throw ioError(e, name);
      }
      size = length;
    },
    async settle() {
      try {
        await flusher?.settle();
      } catch (e) {
        throw ioError(e, name);
      }
    },
  };
}

export interface ScratchFile extends RandomAccessFile {
  /** The bytes written, in pieces of at most `pieceBytes`, read back from disk. */
  pieces(pieceBytes?: number): AsyncIterable<Uint8Array>;
  /** Closes and removes the file; safe to call twice. */
  dispose(): void;
}

const readAt = promisify(readAsync);

/**
 * A hidden temporary file beside `nearPath` (same file system as the output, so no surprise
 * /tmp quota), removed by dispose() and, like output temporaries, on process signals.
 */
export function scratchFileBeside(nearPath: string): ScratchFile {
  const path = join(dirname(nearPath), `.${basename(nearPath)}.wb-scratch-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  let fd: number;
  try {
    fd = openSync(path, "wx+");
  } catch (e) {
    throw ioError(e, nearPath);
  }
  trackTemporary(path);
  // Read back soon and removed: not worth flushing to disk.
  const file = descriptorFile(fd, nearPath, false);
  let disposed = false;
  return {
    name: file.name,
    get size() {
      return file.size;
    },
    read: file.read,
    write: file.write,
    truncate: file.truncate,
    async *pieces(pieceBytes = 16 << 20): AsyncIterable<Uint8Array> {
      const total = file.size;
      for (let at = 0; at < total; ) {
        const piece = new Uint8Array(Math.min(pieceBytes, total - at));
        const { bytesRead } = await readAt(fd, piece, 0, piece.byteLength, at);
        if (bytesRead === 0) throw ioError(new Error(`scratch file ended at byte ${at} of ${total}`), nearPath);
        yield bytesRead === piece.byteLength ? piece : piece.subarray(0, bytesRead);
        at += bytesRead;
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      try {
        closeSync(fd);
      } finally {
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to clean
        }
        untrackTemporary(path);
      }
    },
  };
}

/** The same file, calling `after` once each write or truncate has landed. */
export function observeWrites(file: RandomAccessFile, after: (file: RandomAccessFile) => void): RandomAccessFile {
  const observed: RandomAccessFile = {
    name: file.name,
    get size() {
      return file.size;
    },
    read: (into, position) => file.read(into, position),
    write(bytes, position) {
      file.write(bytes, position);
      after(observed);
    },
    truncate(size) {
      file.truncate(size);
      after(observed);
    },
    settle: file.settle && (() => file.settle!()),
  };
  return observed;
}
