import { open, link, lstat, rename, unlink, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { WeightbridgeError } from "../errors.js";
import { ioError } from "./source.js";
import { descriptorFile, observeWrites, scratchFileBeside, type RandomAccessFile, type ScratchFile } from "./random-access.js";
import { trackTemporary, untrackTemporary } from "./temporaries.js";
import { eventLoopTurns, turnIfDue } from "../util/event-loop.js";

/** Where a writer puts its bytes, strictly in order. */
export interface ByteSink {
  readonly name: string;
  /** File sinks: where the bytes are until commit renames them to `name`. */
  readonly temporaryPath?: string;
  /** Bytes written so far. */
  readonly position: number;
  write(bytes: Uint8Array): Promise<void>;
  /** Makes the output visible (rename into place). After this the sink is done. */
  commit(): Promise<void>;
  /** File sinks: every byte written so far is in the temporary file (readable before commit). */
  drain?(): Promise<void>;
  /** Throws the output away. Safe to call more than once and after commit (then a no-op). */
  abort(): Promise<void>;
  /**
   * File sinks only, before anything was written: the output file itself for positioned writes
   * (for writers that seek back, like libhdf5). After this call `write` is refused; commit keeps
   * what the positioned writes left.
   */
  positioned?(): RandomAccessFile | undefined;
  /** File sinks only: a scratch file beside the output for a writer that must stage one part. */
  scratch?(): ScratchFile;
}

/** Collects the output in memory. */
export class MemorySink implements ByteSink {
  readonly name: string;
  position = 0;
  private chunks: Uint8Array[] = [];
  constructor(name = "<memory>") {
    this.name = name;
  }
  async write(bytes: Uint8Array): Promise<void> {
    this.chunks.push(bytes.slice());
    this.position += bytes.byteLength;
  }
  async commit(): Promise<void> {}
  async abort(): Promise<void> {
    this.chunks = [];
    this.position = 0;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.position);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

/**
 * Sequential writes are gathered into pieces this big. Each is written at once, synchronously,
 * while its bytes are still in the CPU cache: copying cold multi-MB buffers into the page cache
 * measured 3-5x slower (bench/RESULTS.md, section of 2026-12-02 02:50).
 */
const PIECE_SIZE = 256 << 10;

export interface FileSinkOptions {
  /** Replace an existing file. Without it an existing OUT is an `exists` error. */
  force?: boolean;
}

/**
 * Writes to `.<name>.wb-tmp-<pid>-<n>` beside `path` and renames it to `path` on commit, so a
 * failure or a kill never leaves a partial file at `path` nor touches an existing one.
 */
export async function atomicFileSink(path: string, options: FileSinkOptions = {}): Promise<ByteSink> {
  await checkOutputPath(path, options.force);
  const temp = join(dirname(path), `.${basename(path)}.wb-tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  let handle: FileHandle;
  // Tracked before it exists: a signal handled while open() completes must still find it.
  trackTemporary(temp);
  try {
    handle = await open(temp, "wx");
  } catch (e) {
    untrackTemporary(temp);
    throw ioError(e, path);
  }
  let piece = new Uint8Array(PIECE_SIZE);
  let filled = 0;
  const moved = eventLoopTurns();
  let state: "open" | "committed" | "aborted" = "open";
  // Sequential writes go to the end of the same positioned file libhdf5 may be given instead; it
  // flushes to disk in the background as it fills (random-access.ts).
  const file = descriptorFile(handle.fd, path);
  let positionedFile: RandomAccessFile | undefined;

  function writeNow(bytes: Uint8Array): void {
    file.write(bytes, file.size);
  }

  function writePiece(): void {
    if (filled === 0) return;
    writeNow(piece.subarray(0, filled));
    filled = 0;
  }

  /** Waits for the background flush, which runs on the descriptor, before it is synced or closed. */
  const settle = () => (positionedFile ?? file).settle!();

  const sink: ByteSink = {
    name: path,
    temporaryPath: temp,
    position: 0,
    async write(bytes) {
      if (state !== "open") throw new WeightbridgeError("io", "write after the output was closed", { file: path });
      if (positionedFile) throw new WeightbridgeError("io", "sequential write after positioned writes", { file: path });
      if (filled + bytes.byteLength > PIECE_SIZE) writePiece();
      if (bytes.byteLength >= PIECE_SIZE) writeNow(bytes);
      else {
        piece.set(bytes, filled);
        filled += bytes.byteLength;
      }
      (sink as { position: number }).position += bytes.byteLength;
      // Bytes give a turn every 16 MiB; many small writes (10^6 tiny tensors, a zip directory) by time.
      await (moved(bytes.byteLength) ?? turnIfDue());
    },
    positioned() {
      if (state !== "open" || sink.position !== 0) return undefined;
      positionedFile = observeWrites(file, (observed) => {
        (sink as { position: number }).position = observed.size;
      });
      return positionedFile;
    },
    scratch() {
      return scratchFileBeside(path);
    },
    async drain() {
      if (state === "open") writePiece();
    },
    async commit() {
      if (state !== "open") return;
      try {
        writePiece();
        await settle();
        await handle.sync();
        await handle.close();
        if (options.force) await rename(temp, path);
        else {
          // link() fails if path appeared meanwhile, so we never clobber a file created after our check.
          await link(temp, path);
          await unlink(temp);
        }
      } catch (e) {
        await sink.abort();
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw existsError(path);
        throw ioError(e, path);
      }
      state = "committed";
      untrackTemporary(temp);
    },
    async abort() {
      if (state !== "open") return;
      state = "aborted";
      piece = new Uint8Array(0);
      // The descriptor must stay open until a flush running on it has finished.
      await settle().catch(() => {});
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
      untrackTemporary(temp);
    },
  };
  return sink;
}

/** The folder an output goes into must exist. */
export async function checkOutputFolder(path: string): Promise<void> {
  const folder = dirname(path);
  const folderStat = await stat(folder).catch(() => undefined);
  if (!folderStat) throw new WeightbridgeError("io", `the output folder ${folder} does not exist (create it first)`, { file: path });
  if (!folderStat.isDirectory()) throw new WeightbridgeError("io", `${folder} is not a folder`, { file: path });
}

/**
 * Whether `path` can be written as an output, checked before any work is done: its folder must
 * exist, and an existing file there needs `force`. Something that is not a regular file (a
 * device, a folder, a symlink to one) is never replaced.
 */
export async function checkOutputPath(path: string, force?: boolean): Promise<void> {
  await checkOutputFolder(path);
  const entry = await lstat(path).catch(() => undefined);
  if (!entry) return;
  // Renaming over a symlink would replace the link, not write where it points.
  if (entry.isSymbolicLink())
    throw new WeightbridgeError("io", "is a symbolic link: weightbridge will not replace it (give the path it points to)", { file: path });
  const existing = await stat(path).catch(() => undefined);
  if (!existing) return;
  if (!existing.isFile()) throw new WeightbridgeError("io", "exists and is not a regular file: weightbridge will not replace it", { file: path });
  if (!force) throw existsError(path);
}

function existsError(path: string): WeightbridgeError {
  return new WeightbridgeError("exists", "output file already exists (use --force to replace it)", { file: path });
}
