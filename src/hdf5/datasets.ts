import type { Dataset, Group } from "h5wasm";
import { type DType, byteLengthOf, dtypeSize, numelOf } from "../tensor/dtype.js";
import { streamedData, type Tensor, type TensorData } from "../tensor/tensor.js";
import { STREAM_CHUNK, exactPieces, streamTensor } from "../kernels/stream.js";
import { borrowBytes } from "../kernels/borrow.js";
import { giveScratch, takeScratch } from "../util/scratch.js";
import { WeightbridgeError, type ErrorLocation } from "../errors.js";
import { h5Call, rawDataWriter, type H5Lib, type H5Opener, type OpenH5 } from "./h5.js";
import type { RawDataWriter } from "./raw-data.js";
import { narrowFromFloat32, widenToFloat32 } from "./half.js";
import { attrValue, hasAttr } from "./attributes.js";

// HDF5 type classes (H5T_class_t).
const INTEGER = 0;
const FLOAT = 1;
const OPAQUE = 5;
const ENUM = 8;

/**
 * h5wasm 0.10.3 cannot write 2-byte floats or opaque types, so float16 and bfloat16 tensors are
 * written as float32 with the dataset attribute `dtype` naming the real type. That is Keras 3's own
 * marker for bfloat16 (its reader casts on load; Keras 2 ignores it and casts on assignment), and
 * our reader narrows such datasets back bit-exactly.
 */
export const DTYPE_ATTR = "dtype";
const WIDENED = new Set<DType>(["float16", "bfloat16", "bool"]);

/** Filters libhdf5 in h5wasm decodes: deflate, shuffle, fletcher32, nbit, scaleoffset. */
const KNOWN_FILTERS = new Set([1, 2, 3, 5, 6]);

export interface DatasetInfo {
  /** Absolute HDF5 path. */
  path: string;
  dtype: DType;
  shape: number[];
  /** Element size as stored (4 for widened float16/bfloat16). */
  storedSize: number;
  /** Stored through HDF5 filters (possibly compressed), so its bytes may exceed the file's. */
  filtered: boolean;
}

function stringAttr(ds: Dataset, name: string, location: ErrorLocation): string | undefined {
  if (!hasAttr(ds, name)) return undefined;
  const v = attrValue(ds, name, location);
  return typeof v === "string" ? v : undefined;
}

/** How a widened dataset is stored (float16/bfloat16 as float32, bool as uint8), or undefined when as its dtype. */
export function storedForm(info: DatasetInfo): { dtype: DType; byteLength: number } | undefined {
  if (!WIDENED.has(info.dtype) || info.storedSize === dtypeSize(info.dtype)) return undefined;
  const dtype: DType = info.storedSize === 4 ? "float32" : info.storedSize === 1 ? "uint8" : info.dtype;
  return { dtype, byteLength: numelOf(info.shape) * info.storedSize };
}

/** The writers' note on what they widened: what the file holds is not what was asked for. */
export function widenedNote(tensors: readonly Tensor[]): string | undefined {
  const half = tensors.filter((t) => t.dtype === "float16" || t.dtype === "bfloat16");
  if (!half.length) return undefined;
  return `${half.length} ${half[0]!.dtype} tensor(s) are stored as float32 (HDF5 via h5wasm cannot write 2-byte floats), marked dtype=${half[0]!.dtype}: the file is twice the ${half[0]!.dtype} size; Keras loads float32 values, weightbridge reads them back as ${half[0]!.dtype}`;
}

/** What an HDF5 dataset holds, in IR terms; refuses what weightbridge cannot represent. */
export function describeDataset(ds: Dataset, location: ErrorLocation): DatasetInfo {
  const loc = { ...location, path: ds.path };
  const md = h5Call("read dataset type", loc, () => ds.metadata);
  const shape = md.shape;
  if (!shape) throw new WeightbridgeError("unsupported", "dataset has a null dataspace", loc);
  // A virtual dataset maps other datasets (or files) into this one; what a reader sees depends on
  // whether it finds them (else fill values): refused, not read as whatever resolves here.
  const sources = (md as { virtual_sources?: Array<{ file_name?: string; dset_name?: string }> }).virtual_sources;
  if (sources && sources.length > 0) {
    const first = sources[0]!;
    throw new WeightbridgeError(
      "unsupported",
      `virtual dataset (its data is mapped from ${first.file_name ?? "?"}:${first.dset_name ?? "?"}): weightbridge reads only datasets stored in the file`,
      loc,
    );
  }
  const filters = h5Call("read dataset filters", loc, () => ds.filters);
  for (const f of filters) {
    if (!KNOWN_FILTERS.has(f.id)) {
      throw new WeightbridgeError("unsupported", `dataset uses HDF5 filter ${f.id} (${f.name || "unknown"}), which weightbridge cannot decode`, loc);
    }
  }
  const marker = stringAttr(ds, DTYPE_ATTR, location);
  let dtype: DType | undefined;
  if (md.type === FLOAT) {
    dtype = md.size === 2 ? "float16" : md.size === 4 ? "float32" : md.size === 8 ? "float64" : undefined;
    if (dtype === "float32" && (marker === "float16" || marker === "bfloat16")) dtype = marker;
  } else if (md.type === INTEGER) {
    const bits = md.size * 8;
    if ([8, 16, 32, 64].includes(bits)) dtype = `${md.signed ? "int" : "uint"}${bits}` as DType;
    if (dtype === "uint8" && marker === "bool") dtype = "bool";
  } else if (md.type === OPAQUE && md.size === 2 && marker === "bfloat16") {
    dtype = "bfloat16";
  } else if (md.type === ENUM && md.size === 1) {
    dtype = "bool"; // h5py stores numpy bool as an int8 enum {FALSE, TRUE}
  }
  if (!dtype) {
    throw new WeightbridgeError(
      "unsupported",
      `dataset element type (HDF5 class ${md.type}, ${md.size} bytes${marker ? `, dtype '${marker}'` : ""}) has no weightbridge dtype`,
      loc,
    );
  }
  return { path: ds.path, dtype, shape: [...shape], storedSize: md.size, filtered: filters.length > 0 };
}

/** At most this many bytes per libhdf5 read, well inside the 2 GiB wasm heap. */
const SLAB_BYTES = 256 << 20;

/** Rows [start, start + count) of the dataset, copied out of the wasm heap into `into(n)` (default: a new buffer). */
function readRows(h: OpenH5, info: DatasetInfo, location: ErrorLocation, start: number, count: number, into?: (n: number) => Uint8Array): Uint8Array {
  const { module } = h.lib;
  const rowElems = numelOf(info.shape.slice(1));
  const whole = info.shape.length === 0 || (start === 0 && count === info.shape[0]);
  const n = (info.shape.length === 0 ? 1 : count * rowElems) * info.storedSize;
  if (n === 0) return new Uint8Array(0);
  const ptr = h5Call("allocate", location, () => module._malloc(n));
  if (!ptr) throw new WeightbridgeError("unsupported", `cannot allocate ${n} bytes in the HDF5 heap`, location);
  try {
    const slab = whole
      ? [null, null, null]
      : [[BigInt(count), ...info.shape.slice(1).map(BigInt)], info.shape.map((_, i) => BigInt(i === 0 ? start : 0)), info.shape.map(() => 1n)];
    h5Call("read dataset", location, () => module.get_dataset_data(h.file.file_id, info.path, slab[0]!, slab[1]!, slab[2]!, BigInt(ptr)));
    if (!into) return module.HEAPU8.slice(ptr, ptr + n);
    const out = into(n);
    out.set(module.HEAPU8.subarray(ptr, ptr + n));
    return out;
  } finally {
    module._free(ptr);
  }
}

/**
 * The dataset's bytes by slabs of whole rows. With `reuse`, every slab is copied into one recycled
 * buffer, valid only until the next is asked for (streamChunks' contract): no new buffer to fault
 * in per slab of a big tensor.
 */
async function* slabs(open: H5Opener, info: DatasetInfo, location: ErrorLocation, maxBytes: number, reuse = false): AsyncIterable<Uint8Array> {
  const h = await open();
  const same = info.storedSize === dtypeSize(info.dtype);
  const asStored = (raw: Uint8Array): Uint8Array => (same ? raw : narrowFromFloat32(raw, info.dtype));
  let scratch: Uint8Array | undefined;
  const into = reuse && same ? (n: number) => (scratch && scratch.byteLength >= n ? scratch : (scratch = takeScratch(n))).subarray(0, n) : undefined;
  try {
    if (info.shape.length === 0) {
      yield asStored(readRows(h, info, location, 0, 1));
      return;
    }
    const rows = info.shape[0]!;
    const rowBytes = numelOf(info.shape.slice(1)) * info.storedSize;
    const step = rowBytes === 0 ? rows : Math.max(1, Math.floor(Math.min(maxBytes, SLAB_BYTES) / rowBytes));
    for (let r = 0; r < rows || (rows === 0 && r === 0); r += step) {
      const raw = readRows(h, info, location, r, Math.min(step, rows - r), into);
      yield asStored(raw);
      if (rows === 0) break;
    }
    // Only after a clean finish: a consumer that stopped early may still hold the last slab.
    if (scratch) giveScratch(scratch);
  } finally {
    h.close();
  }
}

/** Deflate cannot shrink data more than ~1032:1; other HDF5 filters shrink less. */
const MAX_FILTER_RATIO = 1100;

/** Lazy tensor data: each read opens the file, reads slabs of rows, closes. */
export function datasetData(open: H5Opener, info: DatasetInfo, location: ErrorLocation): TensorData {
  const byteLength = byteLengthOf(info.dtype, info.shape);
  // A lying dataspace would otherwise have libhdf5 produce fill values for billions of rows.
  const stored = (byteLength / dtypeSize(info.dtype)) * info.storedSize;
  const limit = info.filtered ? open.size * MAX_FILTER_RATIO : open.size;
  if (stored > limit) {
    throw new WeightbridgeError("corrupt", `dataset declares ${stored} bytes of data but the file is only ${open.size} bytes`, {
      ...location,
      path: info.path,
    });
  }
  const data = streamedData(byteLength, (maxBytes) => slabs(open, info, location, maxBytes), SLAB_BYTES, location);
  return { ...data, streamChunks: (maxBytes) => slabs(open, info, location, maxBytes, true) };
}

// h5wasm dtype strings are struct-style: the letter alone decides the size ("<f8" would be float32!).
const H5WASM_DTYPE: Partial<Record<DType, string>> = {
  float64: "<d",
  float32: "<f",
  float16: "<f",
  bfloat16: "<f",
  int64: "<q",
  uint64: "<Q",
  int32: "<i",
  uint32: "<I",
  int16: "<h",
  uint16: "<H",
  int8: "<b",
  uint8: "<B",
  bool: "<B",
};

function typedArrayOf(bytes: Uint8Array, dtype: DType): ArrayBufferView {
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset, byteLength } = aligned;
  switch (H5WASM_DTYPE[dtype]) {
    case "<d":
      return new Float64Array(buffer, byteOffset, byteLength / 8);
    case "<f":
      return new Float32Array(buffer, byteOffset, byteLength / 4);
    case "<q":
      return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    case "<Q":
      return new BigUint64Array(buffer, byteOffset, byteLength / 8);
    case "<i":
      return new Int32Array(buffer, byteOffset, byteLength / 4);
    case "<I":
      return new Uint32Array(buffer, byteOffset, byteLength / 4);
    case "<h":
      return new Int16Array(buffer, byteOffset, byteLength / 2);
    case "<H":
      return new Uint16Array(buffer, byteOffset, byteLength / 2);
    case "<b":
      return new Int8Array(buffer, byteOffset, byteLength);
    default:
      return new Uint8Array(buffer, byteOffset, byteLength);
  }
}

/** Creates the groups on `path` that do not exist yet (h5wasm creates one level at a time). */
export function ensureGroup(root: Group, path: string, location: ErrorLocation): Group {
  let group = root;
  for (const part of path.split("/").filter((p) => p !== "")) {
    const existing = h5Call("open group", { ...location, path }, () => group.get(part));
    if (existing === null) group = h5Call("create group", { ...location, path }, () => group.create_group(part));
    else if ((existing as { type?: string }).type === "Group") group = existing as Group;
    else throw new WeightbridgeError("usage", `'${part}' is already a dataset, cannot hold '${path}'`, { ...location, path });
  }
  return group;
}

/** Largest payload handed to h5wasm in one call (it copies the whole array into the wasm heap). */
const MAX_WRITE_BYTES = 1536 << 20;
/**
 * Tensors stored in more than this many bytes have them written by us (raw-data.ts) when the file
 * is built on disk; smaller ones are copied into the heap, which costs less than a dataset's own work.
 * It is also libhdf5's default sieve buffer: a write that fits it is copied through the buffer
 * instead of written from the caller's pointer, so the raw path could not find it.
 */
export const RAW_WRITE_MIN_BYTES = 64 << 10;
/** libhdf5 built for wasm32 writes less than 2 GiB per call, and the raw path expects one write. */
const RAW_WRITE_MAX_BYTES = 1536 << 20;
/** Pieces the raw bytes are streamed in: small enough to stay in the CPU cache between read and write. */
const RAW_PIECE = 256 << 10;
/**
 * Otherwise (a file built in memory, or too big for one write) tensors stored bigger than this are
 * written slab by slab into a chunked dataset, so the wasm heap holds one slab, not the tensor
 * (and tensors past the heap's limit can be written at all).
 */
export const SLAB_WRITE_BYTES = 64 << 20;

/** Writes a tensor's bytes as a dataset at `path` (relative to root), creating parent groups. */
export async function writeTensorDataset(
  root: Group,
  lib: H5Lib,
  path: string,
  tensor: Tensor,
  location: ErrorLocation,
  slabBytes = SLAB_WRITE_BYTES,
): Promise<void> {
  const loc = { ...location, tensor: tensor.name, path };
  const code = H5WASM_DTYPE[tensor.dtype];
  if (!code) throw new WeightbridgeError("unsupported", `Keras HDF5 files cannot hold ${tensor.dtype} tensors`, loc);
  const widened = WIDENED.has(tensor.dtype);
  const halfFloat = tensor.dtype === "float16" || tensor.dtype === "bfloat16";
  const storedBytes = halfFloat ? tensor.data.byteLength * 2 : tensor.data.byteLength;
  const stored = (bytes: Uint8Array): ArrayBufferView => typedArrayOf(halfFloat ? widenToFloat32(bytes, tensor.dtype) : bytes, tensor.dtype);
  const slash = path.lastIndexOf("/");
  const parent = slash < 0 ? root : ensureGroup(root, path.slice(0, slash), loc);
  const name = path.slice(slash + 1);
  const shape = tensor.shape;
  const rowBytes = numelOf(shape.slice(1)) * (halfFloat ? 4 : dtypeSize(tensor.dtype));
  const raw = rawDataWriter(root.file_id);

  let ds: Dataset;
  if (raw && storedBytes > RAW_WRITE_MIN_BYTES && storedBytes <= RAW_WRITE_MAX_BYTES && shape.length > 0) {
    ds = await writeRaw(raw, lib, parent, name, tensor, code, storedBytes, loc);
  } else if (storedBytes <= slabBytes || shape.length === 0 || shape[0]! < 2 || rowBytes === 0) {
    if (storedBytes > MAX_WRITE_BYTES) {
      throw new WeightbridgeError("unsupported", `tensor of ${storedBytes} bytes is too large for h5wasm's 2 GiB heap`, loc);
    }
    // h5wasm copies the bytes into its heap, so they may live in recycled memory.
    const create = (bytes: Uint8Array): Dataset =>
      h5Call("create dataset", loc, () => parent.create_dataset({ name, data: stored(bytes) as Float32Array, shape, dtype: code }));
    const length = tensor.data.byteLength;
    ds = tensor.data.streamChunks && length > 0 && length <= RAW_PIECE ? await withStreamedBytes(tensor, create) : await borrowBytes(tensor.data, create);
  } else {
    if (rowBytes > MAX_WRITE_BYTES) {
      throw new WeightbridgeError("unsupported", `one row of ${rowBytes} bytes is too large for h5wasm's 2 GiB heap`, loc);
    }
    ds = await writeInSlabs(parent, name, tensor, code, Math.max(1, Math.floor(slabBytes / rowBytes)), stored, loc);
  }
  if (widened) h5Call("write dtype attribute", loc, () => ds.create_attribute(DTYPE_ATTR, tensor.dtype, null, "S"));
}

/**
 * Runs `use` on a small tensor's bytes gathered from its stream, which reads a file synchronously.
 * It was added because borrowBytes' readInto then waited for libuv's threads (~2 ms per tensor on a
 * loaded 2-core VM); file reads of up to 1 MiB are now synchronous there too (io/source.ts). The
 * bytes are valid only while `use` runs.
 */
async function withStreamedBytes<T>(tensor: Tensor, use: (bytes: Uint8Array) => T): Promise<T> {
  let result: { value: T } | undefined;
  for await (const bytes of exactPieces(streamTensor(tensor, RAW_PIECE), tensor.data.byteLength, true)) result = { value: use(bytes) };
  if (!result) throw new WeightbridgeError("corrupt", "tensor data gave no bytes", { tensor: tensor.name });
  return result.value;
}

/** A contiguous dataset whose bytes are streamed from the tensor to their place in the file (see raw-data.ts). */
async function writeRaw(
  raw: RawDataWriter,
  lib: H5Lib,
  parent: Group,
  name: string,
  tensor: Tensor,
  code: string,
  storedBytes: number,
  loc: ErrorLocation,
): Promise<Dataset> {
  const shape = tensor.shape.map(BigInt);
  // What h5wasm's Group.create_dataset passes for a contiguous, unfiltered dataset.
  const metadata = { ...lib.dtypeMetadata(code), shape, maxshape: shape, chunks: null, compression: 0, compression_opts: [], track_order: false };
  const position = raw.placeOf(
    storedBytes,
    (pointer) => h5Call("create dataset", loc, () => lib.module.create_dataset(parent.file_id, `${parent.path}/${name}`, BigInt(pointer), metadata)),
    loc,
  );
  const halfFloat = tensor.dtype === "float16" || tensor.dtype === "bfloat16";
  const pieces = streamTensor(tensor, halfFloat ? RAW_PIECE / 2 : RAW_PIECE);
  await raw.fill(position, storedBytes, halfFloat ? widened(pieces, tensor.dtype) : pieces, loc);
  return h5Call("open dataset", loc, () => parent.get(name) as Dataset);
}

async function* widened(pieces: AsyncIterable<Uint8Array>, dtype: DType): AsyncIterable<Uint8Array> {
  // Each piece is written out before the next is asked for, so one buffer serves them all.
  let wide = new Uint8Array(0);
  for await (const piece of pieces) {
    if (wide.byteLength < piece.byteLength * 2) wide = new Uint8Array(piece.byteLength * 2);
    yield widenToFloat32(piece, dtype, wide);
  }
}

/**
 * A chunked dataset (one chunk per slab of rows) created with its first slab, grown to the full
 * shape and filled slab by slab from the tensor's stream.
 */
async function writeInSlabs(
  parent: Group,
  name: string,
  tensor: Tensor,
  code: string,
  rowsPerSlab: number,
  stored: (bytes: Uint8Array) => ArrayBufferView,
  loc: ErrorLocation,
): Promise<Dataset> {
  const [rows, ...rest] = tensor.shape as [number, ...number[]];
  const sourceRowBytes = numelOf(rest) * dtypeSize(tensor.dtype);
  const rest2 = rest.map((d): [number, number] => [0, d]);
  let ds: Dataset | undefined;
  let row = 0;
  // Each slab is copied into h5wasm's heap before the next is asked for: one recycled piece will do.
  const pieces = exactPieces(tensor.data.streamChunks?.(STREAM_CHUNK) ?? tensor.data.chunks(STREAM_CHUNK), rowsPerSlab * sourceRowBytes, true);
  for await (const slab of pieces) {
    const count = slab.byteLength / sourceRowBytes;
    const data = stored(slab) as Float32Array;
    if (!ds) {
      ds = h5Call("create dataset", loc, () =>
        parent.create_dataset({ name, data, shape: [count, ...rest], maxshape: tensor.shape, chunks: [rowsPerSlab, ...rest], dtype: code }),
      );
      h5Call("resize dataset", loc, () => ds!.resize(tensor.shape));
    } else {
      const at = row;
      h5Call("write rows", loc, () => ds!.write_slice([[at, at + count], ...rest2], data));
    }
    row += count;
  }
  if (!ds || row !== rows) throw new WeightbridgeError("corrupt", `tensor data gave ${row} of ${rows} rows`, loc);
  return ds;
}
