import { constants, readdirSync, readSync, type Stats } from "node:fs";
import { open, readdir, realpath, stat as statPath, type FileHandle } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from "node:path";
import { WeightbridgeError } from "../errors.js";
import { turnIfDue } from "../util/event-loop.js";

/**
 * Random access to the bytes of a file, a buffer or a Blob. Every reader goes through this,
 * so a multi-GB file is never read into one buffer: readers ask for the ranges they need.
 */
export interface ByteSource {
  /** File path or label, used in error messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; a range past the end is a `truncated` error. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * The same bytes, synchronously, when the source can (files, memory). For libraries that pull
   * bytes from inside a synchronous call (h5wasm reading HDF5 through a custom file node).
   */
  readSync?(offset: number, length: number): Uint8Array;
  /** Fills `target` with the bytes at `offset` (no allocation: for streaming into reused buffers). */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  /** The same, synchronously (files): for streaming in small cache-sized pieces. */
  readIntoSync?(offset: number, target: Uint8Array): void;
  /** Opens a file next to this one (ONNX external data, .pdiparams beside .pdmodel ...). */
  sibling?(relativePath: string): Promise<ByteSource>;
  /** Every file in this one's folder and below it, as `/`-separated paths for sibling() (a SavedModel template's assets). */
  folderFiles?(): Promise<string[]>;
  close(): Promise<void>;
}

/** Fills `target` with the bytes at `offset`: in place where the source can, else through a read. */
export async function readRangeInto(source: ByteSource, offset: number, target: Uint8Array): Promise<void> {
  if (source.readInto) await source.readInto(offset, target);
  else target.set(await source.read(offset, target.byteLength));
}

function checkRange(source: ByteSource, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new WeightbridgeError("corrupt", `invalid byte range ${offset}+${length}`, { file: source.name });
  }
  if (offset + length > source.size) {
    throw new WeightbridgeError("truncated", `needs ${length} bytes at offset ${offset} but the file is ${source.size} bytes long`, {
      file: source.name,
      offset,
    });
  }
}

export function memorySource(bytes: Uint8Array, name = "<memory>"): ByteSource {
  const source: ByteSource = {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(source, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    readSync(offset, length) {
      checkRange(source, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    async readInto(offset, target) {
      checkRange(source, offset, target.byteLength);
      target.set(bytes.subarray(offset, offset + target.byteLength));
    },
    async close() {},
  };
  return source;
}

/** readInto() reads a Blob in pieces of at most this many bytes. */
const BLOB_PIECE = 4 << 20;

/**
 * A Blob or File (browser). A Blob read always makes a fresh buffer; readInto (streaming into a
 * writer's recycled buffers) fills the target piece by piece, so each fresh buffer is small.
 */
export function blobSource(blob: Blob, name = "<blob>"): ByteSource {
  const source: ByteSource = {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(source, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async readInto(offset, target) {
      checkRange(source, offset, target.byteLength);
      for (let at = 0; at < target.byteLength; at += BLOB_PIECE) {
        const end = Math.min(at + BLOB_PIECE, target.byteLength);
        const piece = await blob.slice(offset + at, offset + end).arrayBuffer();
        if (piece.byteLength !== end - at) throw new WeightbridgeError("truncated", "file shrank while reading", { file: name, offset: offset + at });
        target.set(new Uint8Array(piece), at);
      }
    },
    async close() {},
  };
  return source;
}

/** Resolves a path written inside a model file, refusing anything that leaves `folder`. */
export function resolveInside(folder: string, relativePath: string, owner: string): string {
  const cleaned = relativePath.replace(/\\/g, "/");
  const resolved = normalize(join(folder, cleaned));
  const rel = relative(folder, resolved);
  if (isAbsolute(cleaned) || cleaned.split("/").includes("..") || rel.startsWith("..") || isAbsolute(rel) || rel === "") {
    throw new WeightbridgeError("corrupt", `refusing path '${relativePath}': it must stay inside ${folder}${sep}`, { file: owner });
  }
  return resolved;
}

/**
 * resolveInside, then the same for the real path: a file a model names (external data, shards,
 * .pdiparams) may be a symbolic link only to a file inside the model's folder — the folder as
 * given, or the one the naming file really lives in (a Hugging Face cache links every file of a
 * snapshot into one blobs/ folder). A link to /etc/passwd or ~/.ssh is refused, never read.
 */
export async function resolveInsideReal(ownerPath: string, relativePath: string): Promise<string> {
  const folder = dirname(ownerPath);
  const resolved = resolveInside(folder, relativePath, basename(ownerPath));
  const target = await realpath(resolved).catch(() => undefined);
  // Missing: opening it says so.
  if (target === undefined) return resolved;
  const roots = [await realpath(folder).catch(() => folder), dirname(await realpath(ownerPath).catch(() => ownerPath))];
  if (!roots.some((root) => target.startsWith(root.endsWith(sep) ? root : root + sep))) {
    throw new WeightbridgeError("corrupt", `refusing '${relativePath}': it is a symbolic link to ${target}, outside the model's folder ${folder}${sep}`, {
      file: ownerPath,
    });
  }
  return resolved;
}

/** What a path is when it is not a regular file, for a refusal; undefined for a regular file. */
export function notRegularKind(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return "a folder";
  if (stats.isFIFO()) return "a named pipe";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return "not a regular file";
}

function notRegularError(path: string, kind: string): WeightbridgeError {
  return new WeightbridgeError("io", `is ${kind}, not a regular file: weightbridge reads model files only`, { file: path });
}

/**
 * Opens a regular file for reading. Non-blocking, so a named pipe or a device where a model file
 * should be is refused at once instead of blocking a libuv thread forever waiting for a writer.
 */
async function openRegularFile(path: string): Promise<{ handle: FileHandle; stat: Stats }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw ioError(e, path);
  }
  const stat = await handle.stat();
  const kind = notRegularKind(stat);
  if (kind !== undefined) {
    await handle.close();
    throw stat.isDirectory() ? folderError(path) : notRegularError(path, kind);
  }
  return { handle, stat };
}

/** A whole small file (an index, a config, a rule file): regular files only, at most `maxBytes`. */
export async function readRegularFile(path: string, maxBytes = 64 << 20): Promise<Uint8Array> {
  const { handle, stat } = await openRegularFile(path);
  try {
    if (stat.size > maxBytes) throw new WeightbridgeError("corrupt", `is larger than ${maxBytes >> 20} MiB`, { file: path });
    const bytes = new Uint8Array(stat.size);
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesRead } = await handle.read(bytes, done, bytes.byteLength - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** Whether `path` is a regular file (following links), a folder, something else, or missing. */
export async function pathKind(path: string): Promise<"file" | "dir" | "other" | undefined> {
  const stats = await statPath(path).catch(() => undefined);
  if (!stats) return undefined;
  return stats.isFile() ? "file" : stats.isDirectory() ? "dir" : "other";
}

/**
 * File reads up to this size are made synchronously even when asked for asynchronously: a trip
 * through libuv's threads costs more than reading a header, a zip directory or a pickle from the
 * page cache, and a reader asks for many of those one after another before any tensor moves.
 */
const SYNC_READ_MAX = 1 << 20;

export async function fileSource(path: string): Promise<ByteSource> {
  const { handle, stat } = await openRegularFile(path);
  let closed = false;
  const source: ByteSource = {
    name: path,
    size: stat.size,
    async read(offset, length) {
      const buffer = new Uint8Array(length);
      await source.readInto!(offset, buffer);
      return buffer;
    },
    async readInto(offset, buffer) {
      const length = buffer.byteLength;
      if (length <= SYNC_READ_MAX) {
        source.readIntoSync!(offset, buffer);
        // Small reads are synchronous: 10^6 tiny tensors read in a row would never let signals in.
        return turnIfDue();
      }
      checkRange(source, offset, length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new WeightbridgeError("truncated", "file shrank while reading", { file: path, offset: offset + done });
        }
        done += bytesRead;
      }
    },
    readSync(offset, length) {
      const buffer = new Uint8Array(length);
      source.readIntoSync!(offset, buffer);
      return buffer;
    },
    readIntoSync(offset, buffer) {
      const length = buffer.byteLength;
      checkRange(source, offset, length);
      if (closed) throw new WeightbridgeError("io", "read after the file was closed", { file: path, offset });
      let done = 0;
      while (done < length) {
        const bytesRead = readSync(handle.fd, buffer, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new WeightbridgeError("truncated", "file shrank while reading", { file: path, offset: offset + done });
        }
        done += bytesRead;
      }
    },
    async sibling(relativePath) {
      return fileSource(await resolveInsideReal(path, relativePath));
    },
    async folderFiles() {
      return filesBelow(dirname(path));
    },
    async close() {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    },
  };
  return source;
}

/**
 * The files in `folder` and below it, as `/`-separated relative paths. A symbolic link to a file
 * is listed (sibling() then reads its target, when that is inside); a link to a folder, a dangling
 * link or a pipe is refused rather than silently left out of a copy.
 */
async function filesBelow(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { recursive: true, withFileTypes: true });
  } catch (e) {
    throw ioError(e, folder);
  }
  const files: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) continue;
    const full = join(e.parentPath, e.name);
    const kind = e.isFile() ? "file" : await pathKind(full);
    if (kind === "dir") throw new WeightbridgeError("unsupported", "is a symbolic link to a folder: replace it with a copy of the folder", { file: full });
    if (kind === undefined) throw new WeightbridgeError("io", "is a symbolic link to nothing (dangling)", { file: full });
    if (kind === "other") throw notRegularError(full, notRegularKind(await statPath(full))!);
    files.push(relative(folder, full).split(sep).join("/"));
  }
  return files.sort();
}

/** A folder where a file was expected; a folder of Hugging Face shards is read through its index. */
function folderError(path: string): WeightbridgeError {
  let indexes: string[] = [];
  try {
    indexes = readdirSync(path).filter((name) => name.endsWith(".index.json"));
  } catch {
    // unreadable folder: the plain message will do
  }
  const hint = indexes.length > 0 ? `; it holds the shard index ${indexes[0]}: read that file (${join(path, indexes[0]!)})` : "";
  return new WeightbridgeError("io", `is a folder, not a model file${hint}`, { file: path });
}

export function ioError(e: unknown, path: string): WeightbridgeError {
  const err = e as NodeJS.ErrnoException;
  const reason =
    err?.code === "ENOENT"
      ? "no such file"
      : err?.code === "EACCES" || err?.code === "EPERM"
        ? "permission denied"
        : err?.code === "EISDIR"
          ? "is a directory, not a file"
          : err?.code === "ENOSPC"
            ? "no space left on device"
            : (err?.message ?? String(e));
  return new WeightbridgeError("io", reason, { file: path }, { cause: e });
}
