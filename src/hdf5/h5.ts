import type { File as H5File } from "h5wasm";
import type { ByteSource } from "../io/source.js";
import type { ByteSink } from "../io/sink.js";
import type { RandomAccessFile } from "../io/random-access.js";
import { WeightbridgeError, type ErrorLocation } from "../errors.js";
import { globalHeapProblem } from "./guard.js";
import { RawDataWriter } from "./raw-data.js";
import type { EmscriptenFsNode, H5Module } from "./module.js";

/**
 * The one door to h5wasm. We use its MEMFS build (it also runs in browsers) with the throwing
 * error handler on, so HDF5 failures become exceptions instead of HDF5-DIAG text on stderr and
 * silent nulls; every such exception leaves here as a WeightbridgeError.
 *
 * Files do not live in MEMFS: a file node whose operations are synchronous positioned reads of
 * the ByteSource (reading) or of the output file on disk (writing) lets libhdf5 touch only the
 * bytes it needs, and keeps memory near one tensor whatever the file size.
 */

export type H5 = typeof import("h5wasm").default;
export type { H5File, H5Module };

export interface H5Lib {
  h5: H5;
  module: H5Module;
  /** h5wasm's dtype string → the type metadata its low-level calls take. */
  dtypeMetadata: typeof import("h5wasm").dtype_to_metadata;
}

const DIR = "/weightbridge";
/** Why our read callback refused bytes to libhdf5: reported instead of libhdf5's generic read error. */
let refusal: WeightbridgeError | undefined;
let loading: Promise<H5Lib> | undefined;
let counter = 0;

export function loadH5(): Promise<H5Lib> {
  // Loaded on first use: compiling the wasm costs ~0.15 s that non-HDF5 conversions should not pay.
  loading ??= import("h5wasm").then(async ({ default: h5wasm, dtype_to_metadata }) => {
    const module = (await h5wasm.ready) as unknown as H5Module;
    module.activate_throwing_error_handler();
    module.FS.mkdirTree(DIR);
    return { h5: h5wasm, module, dtypeMetadata: dtype_to_metadata };
  });
  return loading;
}

/** Turns an h5wasm/libhdf5 exception into a one-line WeightbridgeError. */
export function h5Error(e: unknown, what: string, location: ErrorLocation): WeightbridgeError {
  if (e instanceof WeightbridgeError) return e.at(location);
  if (refusal) {
    const reason = refusal;
    refusal = undefined;
    return reason.at(location);
  }
  const text = e instanceof Error ? e.message : String(e);
  const minor = /minor:\s*(.+)/g;
  let last: string | undefined;
  for (let m = minor.exec(text); m; m = minor.exec(text)) last = m[1]!.trim();
  const first =
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "") ?? "unknown error";
  const detail = last && !first.includes(last) ? `${first} (${last})` : first;
  const code = /memory|allocation/i.test(text) ? "unsupported" : "corrupt";
  return new WeightbridgeError(code, `HDF5: ${what} failed: ${detail.slice(0, 300)}`, location, { cause: e });
}

/** Runs an h5wasm call, converting whatever it throws. */
export function h5Call<T>(what: string, location: ErrorLocation, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw h5Error(e, what, location);
  }
}

/**
 * What a file node in h5wasm's FS reads from (and, for output, writes to) instead of MEMFS
 * memory: a RandomAccessFile, or just its reading half. `read` fills a view of the wasm heap.
 */
type NodeBacking = Pick<RandomAccessFile, "size" | "read"> & Partial<Pick<RandomAccessFile, "write" | "truncate">>;

/**
 * Creates `${DIR}/${name}` as a file node whose reads and writes go to `backing`, so libhdf5
 * touches only the bytes it needs and its output never piles up in memory. A failure in the
 * backing is kept (as `refusal`) and reported instead of libhdf5's generic I/O error. A write
 * `raw` claims (a dataset's data, which we write ourselves) is not written.
 */
function backedFile(lib: H5Lib, name: string, backing: NodeBacking, raw?: RawDataWriter): string {
  const { FS } = lib.module;
  const node = FS.createFile(DIR, name, {}, true, backing.write !== undefined);
  node.contents = null;
  Object.defineProperty(node, "usedBytes", { get: () => backing.size });
  const failed = (e: unknown): Error => {
    refusal = e instanceof WeightbridgeError ? e : new WeightbridgeError("io", e instanceof Error ? e.message : String(e), {});
    return new FS.ErrnoError(29); // EIO: libhdf5 gives up on this call
  };
  // Emscripten hands over the wasm heap (maybe as Int8Array) plus an offset into it.
  const view = (buffer: Uint8Array, offset: number, length: number): Uint8Array => new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length);
  node.stream_ops = {
    ...node.stream_ops,
    read(_stream: unknown, buffer: Uint8Array, offset: number, length: number, position: number): number {
      try {
        return backing.read(view(buffer, offset, length), position);
      } catch (e) {
        throw failed(e);
      }
    },
    write(_stream: unknown, buffer: Uint8Array, offset: number, length: number, position: number): number {
      if (!backing.write) throw new FS.ErrnoError(63);
      if (raw?.claims(offset, length, position)) return length;
      try {
        backing.write(view(buffer, offset, length), position);
      } catch (e) {
        throw failed(e);
      }
      return length;
    },
    mmap() {
      throw new FS.ErrnoError(43);
    },
  };
  const setattr = node.node_ops.setattr as (n: EmscriptenFsNode, attr: { size?: number }) => void;
  node.node_ops = {
    ...node.node_ops,
    setattr(n: EmscriptenFsNode, attr: { size?: number }) {
      const { size, ...rest } = attr;
      setattr(n, rest);
      if (size === undefined || size === backing.size) return;
      if (!backing.truncate) throw new FS.ErrnoError(63);
      try {
        backing.truncate(size);
      } catch (e) {
        throw failed(e);
      }
    },
  };
  return `${DIR}/${name}`;
}

/**
 * A source without synchronous reads (a Blob in a browser page) is read into memory whole for
 * libhdf5, up to this size; the page states the limit.
 */
export const HDF5_IN_MEMORY_LIMIT = 1 << 30;

/** A synchronous positioned reader over the source: its own, or the whole source in memory. */
async function syncReaderOf(source: ByteSource): Promise<(offset: number, length: number) => Uint8Array> {
  if (source.readSync) return source.readSync.bind(source);
  if (source.size > HDF5_IN_MEMORY_LIMIT) {
    throw new WeightbridgeError(
      "unsupported",
      `an HDF5 file read without synchronous file access is held in memory whole, up to ${HDF5_IN_MEMORY_LIMIT >> 20} MiB, and this one is ${(source.size / 1048576).toFixed(0)} MiB (the CLI reads it in pieces)`,
      { file: source.name },
    );
  }
  const bytes = await source.read(0, source.size);
  return (offset, length) => bytes.subarray(offset, offset + length);
}

export interface OpenH5 {
  file: H5File;
  lib: H5Lib;
  close(): void;
}

/** Opens the file afresh on each call; `size` is the file's real size, for bounding declared sizes. */
export type H5Opener = (() => Promise<OpenH5>) & { readonly size: number };

/**
 * Returns a function that opens the source as an HDF5 file. Each call opens afresh (cheap: only
 * metadata is read), so lazily read tensors need no long-lived handle.
 */
export async function h5Opener(source: ByteSource): Promise<H5Opener> {
  const lib = await loadH5();
  const readAt = await syncReaderOf(source);
  const size = source.size;
  const opener = async (): Promise<OpenH5> => {
    const { FS } = lib.module;
    const path = backedFile(lib, `r${++counter}.h5`, {
      size,
      read(into, position) {
        const n = Math.min(into.byteLength, size - position);
        if (n <= 0) return 0;
        const bytes = readAt(position, n);
        const problem = globalHeapProblem(bytes);
        if (problem) throw new WeightbridgeError("corrupt", problem, { file: source.name, offset: position });
        into.set(bytes);
        return n;
      },
    });
    let file: H5File;
    try {
      file = h5Call("open", { file: source.name }, () => new lib.h5.File(path, "r"));
    } catch (e) {
      FS.unlink(path);
      throw e;
    }
    let closed = false;
    openSizes.set(file.file_id, size);
    return {
      file,
      lib,
      close() {
        if (closed) return;
        closed = true;
        openSizes.delete(file.file_id);
        try {
          file.close();
        } finally {
          FS.unlink(path);
        }
      },
    };
  };
  return Object.assign(opener, { size });
}

/** Real sizes of the files open for reading, by HDF5 file id: the bound for sizes they declare. */
const openSizes = new Map<bigint, number>();

export function h5FileSize(fileId: bigint): number | undefined {
  return openSizes.get(fileId);
}

/** Opens once, runs `fn`, closes. */
export async function withH5<T>(open: H5Opener, fn: (h: OpenH5) => T | Promise<T>): Promise<T> {
  const h = await open();
  try {
    return await fn(h);
  } finally {
    h.close();
  }
}

const STREAM_PIECE = 16 << 20;

export type H5Build = (file: H5File, lib: H5Lib) => void | Promise<void>;
type Consume = (size: number, pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array>) => Promise<void>;

/**
 * Writes an HDF5 file as the whole of `sink`. libhdf5 seeks back to patch headers, so it cannot
 * write a stream: it writes straight into the output file when the sink allows positioned
 * writes, else (memory sinks, browsers) the file is built in memory and then streamed.
 */
export async function writeH5(sink: ByteSink, build: H5Build): Promise<void> {
  const lib = await loadH5();
  const direct = sink.positioned?.();
  if (direct) {
    await buildOnFile(lib, sink.name, direct, build);
    return;
  }
  await inMemory(lib, sink.name, build, async (_size, pieces) => {
    for await (const piece of pieces) await sink.write(piece);
  });
}

/**
 * Builds an HDF5 file that goes inside another output (the .keras zip): staged in a scratch file
 * beside the sink when it offers one, else in memory; then `consume` gets its size and bytes.
 * A failure while building throws before `consume` runs, so nothing partial reaches the output.
 */
export async function buildH5(sink: ByteSink, build: H5Build, consume: Consume): Promise<void> {
  const lib = await loadH5();
  const scratch = sink.scratch?.();
  if (!scratch) {
    await inMemory(lib, sink.name, build, consume);
    return;
  }
  try {
    await buildOnFile(lib, sink.name, scratch, build);
    await consume(scratch.size, scratch.pieces(STREAM_PIECE));
  } finally {
    scratch.dispose();
  }
}

/** Raw-data writers of the files being built on a file, by HDF5 file id. */
const rawWriters = new Map<bigint, RawDataWriter>();

/**
 * Where datasets of the file being built can have their bytes written by us (see raw-data.ts):
 * undefined when the file is built in memory.
 */
export function rawDataWriter(fileId: bigint): RawDataWriter | undefined {
  return rawWriters.get(fileId);
}

/** Creates the HDF5 file at `path`, runs `build`, closes it. Bounds v108..v110: readable by HDF5 1.10 (h5py in Debian, TensorFlow wheels). */
async function createAndBuild(lib: H5Lib, label: string, path: string, build: H5Build, raw?: RawDataWriter): Promise<void> {
  const file = h5Call("create file", { file: label }, () => new lib.h5.File(path, "w", { libver: ["v108", "v110"] }));
  if (raw) rawWriters.set(file.file_id, raw);
  try {
    await build(file, lib);
  } finally {
    rawWriters.delete(file.file_id);
    h5Call("close file", { file: label }, () => file.close());
  }
}

/** Builds the HDF5 file with its bytes in `file` (through a file node in h5wasm's FS). */
async function buildOnFile(lib: H5Lib, label: string, file: RandomAccessFile, build: H5Build): Promise<void> {
  const raw = new RawDataWriter(lib.module, file);
  const path = backedFile(lib, `w${++counter}.h5`, file, raw);
  try {
    await createAndBuild(lib, label, path, build, raw);
  } catch (e) {
    await file.settle?.().catch(() => {});
    throw e;
  } finally {
    lib.module.FS.unlink(path);
  }
  await file.settle?.();
}

/** Builds the file in MEMFS, hands its bytes (in pieces, no copy) to `consume`, removes it. */
async function inMemory(lib: H5Lib, label: string, build: H5Build, consume: Consume): Promise<void> {
  const { FS } = lib.module;
  const path = `${DIR}/w${++counter}.h5`;
  try {
    await createAndBuild(lib, label, path, build);
    const node = FS.lookupPath(path).node;
    const contents = node.contents as Uint8Array;
    const size = node.usedBytes;
    function* pieces(): Iterable<Uint8Array> {
      for (let at = 0; at < size; at += STREAM_PIECE) yield contents.subarray(at, Math.min(size, at + STREAM_PIECE));
    }
    await consume(size, pieces());
  } finally {
    if (FS.analyzePath(path).exists) FS.unlink(path);
  }
}

/** HDF5 signature at 0 or a power-of-two user-block offset (512, 1024, 2048 ...). */
export const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function hdf5SignatureOffset(head: Uint8Array): number | undefined {
  for (let at = 0; at + 8 <= head.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_MAGIC.every((b, i) => head[at + i] === b)) return at;
  }
  return undefined;
}
