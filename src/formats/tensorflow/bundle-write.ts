import { basename } from "node:path";
import { WeightbridgeError } from "../../errors.js";
import type { ByteSink } from "../../io/sink.js";
import type { ByteSource } from "../../io/source.js";
import type { Tensor } from "../../tensor/tensor.js";
import { crc32c, maskCrc32c, unmaskCrc32c } from "../../util/crc32c.js";
import { utf8 } from "../../util/bytes.js";
import { turnIfDue } from "../../util/event-loop.js";
import type { WriteOptions } from "../types.js";
import { shardName } from "./bundle-read.js";
import { encodeBundleEntry, encodeProto } from "./protos.js";
import { compareKeys, TableBuilder } from "./table-write.js";

const CHUNK = 8 << 20;

/** A template entry's bytes, copied as they are. */
export interface CopiedEntry {
  copyFrom: ByteSource;
  offset: number;
  size: number;
  maskedCrc32c: number;
  numeric: boolean;
}

/**
 * One entry of the bundle being written: its table key (a tensor's name, or a template's raw key),
 * dtype and dims, and where its bytes come from. Kept to a few fields on purpose (10^6 tiny
 * tensors make 10^6 of these): `dims` is the tensor's own shape, not a copy, and where the bytes
 * land is kept in typed arrays by emitBundle.
 */
export class PlannedEntry {
  constructor(
    readonly key: string | Uint8Array,
    readonly dtype: number | undefined,
    readonly dims: readonly number[],
    readonly payload: Tensor | CopiedEntry,
  ) {}
}

/** Writes the data shard (entries' bytes in `planned` order), then the index (entries in key order). */
export async function emitBundle(planned: readonly PlannedEntry[], indexSink: ByteSink, options: WriteOptions): Promise<void> {
  if (!options.siblingSink)
    throw new WeightbridgeError("unsupported", "a TensorFlow checkpoint is two files: write it to a path, not a stream", { file: indexSink.name });
  const prefix = basename(indexSink.name).replace(/\.index$/, "");
  if (!basename(indexSink.name).endsWith(".index"))
    throw new WeightbridgeError("usage", "name a TensorFlow checkpoint output PREFIX.index (PREFIX.data-00000-of-00001 is written beside it)", {
      file: indexSink.name,
    });
  const data = await options.siblingSink(shardName(prefix, 0, 1));
  const n = planned.length;
  const offsets = new Float64Array(n);
  const sizes = new Float64Array(n);
  const crcs = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const offset = data.position;
    crcs[i] = await writePayload(planned[i]!.payload, data);
    offsets[i] = offset;
    sizes[i] = data.position - offset;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => compareEntryKeys(planned[a]!.key, planned[b]!.key));
  const table = new TableBuilder();
  const header = encodeProto("BundleHeaderProto", { num_shards: 1, version: { producer: 1 } });
  let block = table.add(new Uint8Array(0), header);
  for (const i of order) {
    if (block) await indexSink.write(block);
    else await turnIfDue();
    const { key, dtype, dims } = planned[i]!;
    block = table.add(typeof key === "string" ? utf8(key) : key, encodeBundleEntry(dtype, dims, offsets[i]!, sizes[i]!, crcs[i]!));
  }
  if (block) await indexSink.write(block);
  await indexSink.write(table.finish());
}

/** Writes one entry's bytes; returns their masked crc32c. */
async function writePayload(payload: Tensor | CopiedEntry, data: ByteSink): Promise<number> {
  let crc = 0;
  if (!("copyFrom" in payload)) {
    for await (const piece of payload.data.chunks(CHUNK)) {
      crc = crc32c(piece, crc);
      await data.write(piece);
    }
    return maskCrc32c(crc);
  }
  const { copyFrom, offset: from, size } = payload;
  for (let at = 0; at < size; at += CHUNK) {
    const piece = await copyFrom.read(from + at, Math.min(CHUNK, size - at));
    crc = crc32c(piece, crc);
    await data.write(piece);
  }
  // String entries checksum their lengths as integers, not the bytes: their crc is kept (the
  // template's reader verified it); numeric ones must match the bytes copied.
  if (payload.numeric && crc !== unmaskCrc32c(payload.maskedCrc32c))
    throw new WeightbridgeError("corrupt", "template entry's bytes do not match their crc32c", { file: copyFrom.name, offset: from });
  return payload.maskedCrc32c;
}

/** Byte order of the keys' UTF-8, without encoding names whose first difference is below the surrogates. */
export function compareEntryKeys(a: string | Uint8Array, b: string | Uint8Array): number {
  if (typeof a !== "string" || typeof b !== "string") return compareKeys(typeof a === "string" ? utf8(a) : a, typeof b === "string" ? utf8(b) : b);
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Below U+D800 a UTF-16 unit is a whole code point, and UTF-8 keeps code point order.
  const x = i < a.length ? a.charCodeAt(i) : -1;
  const y = i < b.length ? b.charCodeAt(i) : -1;
  const before = i > 0 ? a.charCodeAt(i - 1) : 0;
  if (x < 0xd800 && y < 0xd800 && (before < 0xd800 || before > 0xdfff)) return x - y;
  return compareKeys(utf8(a), utf8(b));
}
