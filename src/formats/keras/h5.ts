import type { File as H5File } from "h5wasm";
import type { ByteSource } from "../../io/source.js";
import type { ByteSink } from "../../io/sink.js";
import { WeightbridgeError, type ErrorLocation } from "../../errors.js";
import { globalHeapProblem } from "./h5-guard.js";

/**
 * The one door to h5wasm. We use its MEMFS build (it also runs in browsers) with the throwing
 * error handler on, so HDF5 failures become exceptions instead of HDF5-DIAG text on stderr and
 * silent nulls; every such exception leaves here as a WeightbridgeError.
 *
 * Reading does not copy the file into MEMFS: a file node whose read operation is a synchronous
 * positioned read of the ByteSource lets libhdf5 pull only the bytes it needs.
 */

export type H5 = typeof import("h5wasm").default;
export type { H5File };

/** The parts of h5wasm's Emscripten module we use (its own typings leave FS loosely typed). */
interface EmscriptenFsNode {
  contents: unknown;
  usedBytes: number;
  stream_ops: Record<string, unknown>;
}
interface EmscriptenFs {
  mkdirTree(path: string): void;
  createFile(parent: string, name: string, properties: object, canRead: boolean, canWrite: boolean): EmscriptenFsNode;
  lookupPath(path: string): { node: EmscriptenFsNode };
  unlink(path: string): void;
  analyzePath(path: string): { exists: boolean };
  ErrnoError: new (errno: number) => Error;
}
export interface H5Module {
  FS: EmscriptenFs;
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  MAXIMUM_MEMORY?: number;
  activate_throwing_error_handler(): number;
  get_dataset_data(fileId: bigint, path: string, count: bigint[] | null, offset: bigint[] | null, strides: bigint[] | null, ptr: bigint): number;
}

export interface H5Lib {
  h5: H5;
  module: H5Module;
}

const DIR = "/weightbridge";
/** Why our read callback refused bytes to libhdf5: reported instead of libhdf5's generic read error. */
let refusal: WeightbridgeError | undefined;
let loading: Promise<H5Lib> | undefined;
let counter = 0;

export function loadH5(): Promise<H5Lib> {
  // Loaded on first use: compiling the wasm costs ~0.15 s that non-HDF5 conversions should not pay.
  loading ??= import("h5wasm").then(async ({ default: h5wasm }) => {
    const module = (await h5wasm.ready) as unknown as H5Module;
    module.activate_throwing_error_handler();
    module.FS.mkdirTree(DIR);
    return { h5: h5wasm, module };
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
  const first = text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "unknown error";
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

/** A synchronous positioned reader over the source: its own, or the whole source in memory. */
async function syncReaderOf(source: ByteSource): Promise<(offset: number, length: number) => Uint8Array> {
  if (source.readSync) return source.readSync.bind(source);
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
    const name = `r${++counter}.h5`;
    const path = `${DIR}/${name}`;
    const node = FS.createFile(DIR, name, {}, true, false);
    node.contents = null;
    Object.defineProperty(node, "usedBytes", { get: () => size });
    node.stream_ops = {
      ...node.stream_ops,
      read(_stream: unknown, buffer: Uint8Array, offset: number, length: number, position: number): number {
        if (position >= size) return 0;
        const n = Math.min(length, size - position);
        const bytes = readAt(position, n);
        const problem = globalHeapProblem(bytes);
        if (problem) {
          refusal = new WeightbridgeError("corrupt", problem, { file: source.name, offset: position });
          throw new FS.ErrnoError(29); // EIO: libhdf5 gives up on this read
        }
        // buffer may be HEAP8 (signed): set() keeps the bit patterns.
        buffer.set(bytes, offset);
        return n;
      },
      write() {
        throw new FS.ErrnoError(63);
      },
      mmap() {
        throw new FS.ErrnoError(43);
      },
    };
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

/**
 * Builds an HDF5 file in MEMFS (libhdf5 seeks back to patch headers, so it cannot stream), hands
 * its size and bytes (in pieces, no copy) to `consume`, then removes it. A failure while building
 * throws before `consume` runs, so nothing partial reaches an output.
 * Bounds v108..v110: readable by HDF5 1.10 (h5py in Debian, TensorFlow wheels).
 */
export async function buildH5(
  label: string,
  build: (file: H5File, lib: H5Lib) => void | Promise<void>,
  consume: (size: number, pieces: Iterable<Uint8Array>) => Promise<void>,
): Promise<void> {
  const lib = await loadH5();
  const { FS } = lib.module;
  const path = `${DIR}/w${++counter}.h5`;
  try {
    const file = h5Call("create file", { file: label }, () => new lib.h5.File(path, "w", { libver: ["v108", "v110"] }));
    try {
      await build(file, lib);
    } finally {
      h5Call("close file", { file: label }, () => file.close());
    }
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

/** Builds an HDF5 file and streams it into `sink`. */
export function writeH5(sink: ByteSink, build: (file: H5File, lib: H5Lib) => void | Promise<void>): Promise<void> {
  return buildH5(sink.name, build, async (_size, pieces) => {
    for (const piece of pieces) await sink.write(piece);
  });
}

/** HDF5 signature at 0 or a power-of-two user-block offset (512, 1024, 2048 ...). */
export const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function hdf5SignatureOffset(head: Uint8Array): number | undefined {
  for (let at = 0; at + 8 <= head.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_MAGIC.every((b, i) => head[at + i] === b)) return at;
  }
  return undefined;
}
