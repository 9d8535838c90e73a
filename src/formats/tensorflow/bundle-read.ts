import { basename } from "node:path";
import { WeightbridgeError } from "../../errors.js";
import type { ByteSource } from "../../io/source.js";
import { crc32c, unmaskCrc32c } from "../../util/crc32c.js";
import { fromUtf8 } from "../../util/bytes.js";
import { dtypeSize, numelOf, type DType } from "../../tensor/dtype.js";
import { computedData, type TensorData } from "../../tensor/tensor.js";
import { tableEntries, type TableEntry } from "./table-read.js";
import { decodeProto, int64, type BundleEntry, type BundleHeader } from "./protos.js";
import { DT_STRING, dtypeOfTf, tfDtypeName } from "./dtypes.js";
import { turnIfDue } from "../../util/event-loop.js";
import { boxOf, checkCoverage, extentsOf, placeSlice, sliceKey } from "./slices.js";
import { readTableVarint } from "./table-read.js";

/** One tensor of a bundle, by its checkpoint key. */
export interface BundleTensor {
  key: string;
  /** undefined for DT_STRING, DT_VARIANT, DT_RESOURCE and quantized types. */
  dtype?: DType;
  shape: number[];
  data?: TensorData;
}

/** A DT_STRING tensor's elements, decoded on demand from the one buffer. */
export interface StringTensor {
  count: number;
  element(index: number): Uint8Array;
  /** Every element as text (UTF-8). */
  texts(): string[];
}

export interface Bundle {
  header: BundleHeader;
  tensors: BundleTensor[];
  /** Decoded DT_STRING tensors (each element as bytes), by key. */
  strings: Map<string, StringTensor>;
  /** Entries that are neither numeric nor strings (variant, resource, quantized): key and type. */
  skipped: Array<{ key: string; type: string }>;
  /** The data shard files. */
  shards: ByteSource[];
  /** Every entry after the header, in key order (slices included), for writers that copy them (empty unless asked for). */
  raw: Array<{ rawKey: Uint8Array; key: string; entry: BundleEntry }>;
}

/** `PREFIX.data-00000-of-00002` for the index `PREFIX.index`. */
export function shardName(prefix: string, shard: number, count: number): string {
  return `${prefix}.data-${String(shard).padStart(5, "0")}-of-${String(count).padStart(5, "0")}`;
}

export function prefixOfIndex(indexName: string): string {
  const base = basename(indexName);
  return base.endsWith(".index") ? base.slice(0, -".index".length) : base;
}

function crcError(expected: number, actual: number, key: string, file: string, offset: number): WeightbridgeError {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  return new WeightbridgeError("corrupt", `crc32c mismatch: TensorFlow stored ${hex(expected)}, the bytes give ${hex(actual)}`, { tensor: key, file, offset });
}

/** The bytes at [offset, offset+size) of a shard, read in pieces, their CRC-32C checked at the end. */
function verifiedData(shard: ByteSource, offset: number, size: number, masked: number, key: string): TensorData {
  return new VerifiedData(shard, offset, size, unmaskCrc32c(masked), key);
}

/** A class, not closures: 10^6 tensors' data objects held ~0.25 KiB each as closures. */
class VerifiedData implements TensorData {
  constructor(
    private readonly shard: ByteSource,
    private readonly offset: number,
    readonly byteLength: number,
    private readonly expected: number,
    private readonly key: string,
  ) {}

  async read(): Promise<Uint8Array> {
    const bytes = await this.shard.read(this.offset, this.byteLength);
    const crc = crc32c(bytes);
    if (crc !== this.expected) throw crcError(this.expected, crc, this.key, this.shard.name, this.offset);
    return bytes;
  }

  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    const { shard, offset, byteLength: size, expected, key } = this;
    let crc = 0;
    for (let at = 0; at < size; at += maxBytes) {
      const piece = await shard.read(offset + at, Math.min(maxBytes, size - at));
      crc = crc32c(piece, crc);
      if (at + piece.byteLength >= size && crc !== expected) throw crcError(expected, crc, key, shard.name, offset);
      yield piece;
    }
    if (size === 0 && crc !== expected) throw crcError(expected, crc, key, shard.name, offset);
  }
}

/**
 * DT_STRING bundle data: varint64 lengths, a masked CRC-32C of those lengths, then the bytes.
 * TensorFlow's entry checksum covers each length as a little-endian uint32 (uint64 past 4 GiB;
 * not its varint), then the 4-byte length checksum, then the string bytes.
 */
function decodeStrings(bytes: Uint8Array, count: number, masked: number, key: string, file: string, offset: number): StringTensor {
  // Every element has at least a one-byte length: more elements than bytes is a lie, refused before allocating.
  if (count > bytes.byteLength)
    throw new WeightbridgeError("corrupt", `string tensor of ${count} elements in ${bytes.byteLength} bytes`, { tensor: key, file, offset });
  // Offsets in one typed array, not an object per element: 10^7 tiny strings were 140x their bytes.
  const ends = new Float64Array(count);
  let at = 0;
  let crc = 0;
  const word = new Uint8Array(8);
  const view = new DataView(word.buffer);
  let total = 0;
  for (let i = 0; i < count; i++) {
    let length: number;
    if (bytes[at]! < 0x80 && at < bytes.byteLength) length = bytes[at++]!;
    else [length, at] = readTableVarint(bytes, at, bytes.byteLength, file);
    total += length;
    ends[i] = total;
    if (length <= 0xffffffff) {
      view.setUint32(0, length, true);
      crc = crc32c(word.subarray(0, 4), crc);
    } else {
      view.setBigUint64(0, BigInt(length), true);
      crc = crc32c(word, crc);
    }
  }
  if (at + 4 > bytes.byteLength) throw new WeightbridgeError("truncated", "string tensor ends inside its length checksum", { tensor: key, file, offset });
  crc = crc32c(bytes.subarray(at, at + 4), crc);
  at += 4;
  if (at + total > bytes.byteLength) throw new WeightbridgeError("truncated", "string tensor element runs past its data", { tensor: key, file, offset });
  // The strings are contiguous: one checksum over all of them.
  const data = bytes.subarray(at, at + total);
  crc = crc32c(data, crc);
  const expected = unmaskCrc32c(masked);
  if (crc !== expected) throw crcError(expected, crc, key, file, offset);
  const element = (i: number) => data.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!);
  const texts = () => {
    // ASCII (vocabularies): one decode, then slices of it; no object per element on the way.
    if (!data.every((b) => b < 0x80)) return Array.from({ length: count }, (_, i) => fromUtf8(element(i)));
    const whole = fromUtf8(data);
    return Array.from({ length: count }, (_, i) => whole.slice(i === 0 ? 0 : ends[i - 1]!, ends[i]!));
  };
  return { count, element, texts };
}

function shapeOf(entry: BundleEntry, key: string): number[] {
  if (entry.shape?.unknown_rank) throw new WeightbridgeError("corrupt", "bundle entry has an unknown rank", { tensor: key });
  const shape = (entry.shape?.dim ?? []).map((d) => int64(d.size));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new WeightbridgeError("corrupt", `bad shape [${shape.join(", ")}]`, { tensor: key });
  return shape;
}

/**
 * Reads a bundle's index (in memory: it holds only metadata) and opens its data shards beside
 * it. Tensor bytes are read later, on demand, each range CRC-checked as TensorFlow stored it.
 */
export async function readBundle(index: ByteSource, openSibling: (name: string) => Promise<ByteSource>, keepRaw = false): Promise<Bundle> {
  const file = index.name;
  const table = await index.read(0, index.size);
  const first: TableEntry | undefined = tableEntries(table, file).next().value ?? undefined;
  if (first?.key.byteLength !== 0) throw new WeightbridgeError("corrupt", "the bundle index has no header entry (empty key)", { file });
  // Saver V1 (one table file of SavedTensorSlices, field 1 its meta): same table container,
  // other records. A V2 header starts with num_shards (field 1, varint).
  if (first.value[0] === 0x0a) {
    throw new WeightbridgeError(
      "unsupported",
      "a TensorFlow Saver V1 checkpoint (one table of SavedTensorSlices, tf.train.Saver(write_version=V1)): not read; restore it in TensorFlow and save it again (V2, the default since TF 1.0)",
      { file },
    );
  }
  const header = decodeProto<BundleHeader>("BundleHeaderProto", first.value, { file, path: "BundleHeaderProto" });
  if (header.endianness === 1) throw new WeightbridgeError("unsupported", "big-endian tensor bundle (written on a big-endian machine): not read", { file });
  const numShards = header.num_shards ?? 0;
  if (!Number.isSafeInteger(numShards) || numShards < 0 || numShards > 100000)
    throw new WeightbridgeError("corrupt", `bundle header declares ${numShards} shards`, { file });
  const prefix = prefixOfIndex(file);
  const shards: ByteSource[] = [];
  const bundle: Bundle = { header, tensors: [], strings: new Map(), skipped: [], shards, raw: [] };
  try {
    for (let i = 0; i < numShards; i++) {
      const name = shardName(prefix, i, numShards);
      try {
        shards.push(await openSibling(name));
      } catch (e) {
        if (e instanceof WeightbridgeError && e.code === "io") throw new WeightbridgeError("io", `data shard ${name} is missing (${e.message})`, { file });
        throw e;
      }
    }
    // No tensor can hold more bytes than all data files together: a tiny index cannot make us allocate terabytes.
    const dataBytes = shards.reduce((n, s) => n + s.size, 0);
    const byKey = new Map<string, Uint8Array>();
    // Slices' keys start with a 0 byte: they come first, the tensors' entries after them.
    for (const { key, value } of tableEntries(table, file)) {
      if (key[0] !== 0 && key.byteLength > 0) break;
      if (key[0] === 0) byKey.set(Array.from(key).join(","), value);
    }
    const rangeOf = (entry: BundleEntry, key: string) => {
      const shard = shards[entry.shard_id ?? 0];
      if (!shard) throw new WeightbridgeError("corrupt", `entry names shard ${entry.shard_id} of ${numShards}`, { tensor: key, file });
      const offset = int64(entry.offset);
      const size = int64(entry.size);
      if (offset + size > shard.size) {
        throw new WeightbridgeError("truncated", `needs bytes ${offset}..${offset + size} of ${basename(shard.name)}, which is ${shard.size} bytes long`, {
          tensor: key,
          file: shard.name,
        });
      }
      return verifiedData(shard, offset, size, entry.crc32c ?? 0, key);
    };
    let entries = 0;
    for (const { key: rawKey, value } of tableEntries(table, file)) {
      if (entries++ === 0) continue; // the header
      await turnIfDue();
      const key = fromUtf8(rawKey);
      const entry = decodeProto<BundleEntry>("BundleEntryProto", value, { file, tensor: key });
      if (keepRaw) bundle.raw.push({ rawKey, key, entry });
      if (rawKey[0] === 0) continue; // a slice of a partitioned tensor, read through its full entry
      const shape = shapeOf(entry, key);
      const tfType = entry.dtype ?? 0;
      if (tfType === DT_STRING) {
        if (entry.slices.length > 0) throw new WeightbridgeError("unsupported", "partitioned string tensor", { tensor: key, file });
        const shard = shards[entry.shard_id ?? 0];
        if (!shard) throw new WeightbridgeError("corrupt", `entry names shard ${entry.shard_id} of ${numShards}`, { tensor: key, file });
        const offset = int64(entry.offset);
        const size = int64(entry.size);
        if (offset + size > shard.size)
          throw new WeightbridgeError("truncated", `needs bytes ${offset}..${offset + size} of ${basename(shard.name)}, which is ${shard.size} bytes long`, {
            tensor: key,
            file: shard.name,
          });
        bundle.strings.set(key, decodeStrings(await shard.read(offset, size), numelOf(shape), entry.crc32c ?? 0, key, shard.name, offset));
        continue;
      }
      const dtype = dtypeOfTf(tfType);
      if (!dtype) {
        bundle.skipped.push({ key, type: tfDtypeName(tfType) });
        continue;
      }
      const byteLength = numelOf(shape) * dtypeSize(dtype);
      if (byteLength > dataBytes) {
        throw new WeightbridgeError("corrupt", `${dtype}[${shape.join(", ")}] needs ${byteLength} bytes, more than the data files hold (${dataBytes})`, {
          tensor: key,
          file,
        });
      }
      let data: TensorData;
      if (entry.slices.length > 0) {
        const pieces = entry.slices.map((slice) => {
          const extents = extentsOf(slice, shape.length, key);
          const box = boxOf(extents, shape, key);
          const sliceEntryBytes = byKey.get(Array.from(sliceKey(rawKey, extents)).join(","));
          if (!sliceEntryBytes) throw new WeightbridgeError("corrupt", "a slice of this partitioned tensor has no entry", { tensor: key, file });
          const sliceEntry = decodeProto<BundleEntry>("BundleEntryProto", sliceEntryBytes, { file, tensor: key });
          const sliceData = rangeOf(sliceEntry, key);
          const needed = box.sizes.reduce((a, b) => a * b, 1) * dtypeSize(dtype);
          if (sliceData.byteLength !== needed)
            throw new WeightbridgeError("corrupt", `slice holds ${sliceData.byteLength} bytes, its extents need ${needed}`, { tensor: key, file });
          return { extents, box, data: sliceData };
        });
        checkCoverage(
          shape,
          pieces.map((p) => p.box),
          key,
        );
        data = computedData(byteLength, async () => {
          const full = new Uint8Array(byteLength);
          for (const piece of pieces) placeSlice(full, shape, dtypeSize(dtype), piece.extents, await piece.data.read(), key);
          return full;
        });
      } else {
        data = rangeOf(entry, key);
        if (data.byteLength !== byteLength)
          throw new WeightbridgeError("corrupt", `${dtype}[${shape.join(", ")}] needs ${byteLength} bytes, the entry says ${data.byteLength}`, {
            tensor: key,
            file,
          });
      }
      bundle.tensors.push({ key, dtype, shape, data });
    }
  } catch (e) {
    for (const s of shards) await s.close().catch(() => {});
    throw e;
  }
  return bundle;
}
