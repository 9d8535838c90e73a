import { basename } from "node:path";
import { WeightbridgeError } from "../../errors.js";
import type { ByteSink } from "../../io/sink.js";
import type { ByteSource } from "../../io/source.js";
import { checkUniqueNames, type Checkpoint } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { crc32c, maskCrc32c, unmaskCrc32c } from "../../util/crc32c.js";
import { utf8 } from "../../util/bytes.js";
import type { WriteOptions } from "../types.js";
import { settleKeptTemplateValues } from "../../tensor/non-weights.js";
import { readBundle, shardName, type Bundle } from "./bundle-read.js";
import { encodeProto, int64, type BundleEntry } from "./protos.js";
import { DT_STRING, tfDtypeOf } from "./dtypes.js";
import { bytesData, makeTensor } from "../../tensor/tensor.js";
import { compareKeys, writeTable } from "./table-write.js";
import type { TableEntry } from "./table-read.js";

const CHUNK = 8 << 20;

/** The bytes written for one entry: new tensor data, or a template entry copied as it is. */
type Payload = { tensor: Tensor } | { copyFrom: ByteSource; offset: number; size: number; maskedCrc32c: number; numeric: boolean };

interface PlannedEntry {
  rawKey: Uint8Array;
  entry: BundleEntry;
  payload?: Payload;
}

/** Writes the data shard (entries' bytes in `planned` order), then the index (entries in key order). */
async function emitBundle(planned: PlannedEntry[], indexSink: ByteSink, options: WriteOptions): Promise<void> {
  if (!options.siblingSink)
    throw new WeightbridgeError("unsupported", "a TensorFlow checkpoint is two files: write it to a path, not a stream", { file: indexSink.name });
  const prefix = basename(indexSink.name).replace(/\.index$/, "");
  if (!basename(indexSink.name).endsWith(".index"))
    throw new WeightbridgeError("usage", "name a TensorFlow checkpoint output PREFIX.index (PREFIX.data-00000-of-00001 is written beside it)", {
      file: indexSink.name,
    });
  const data = await options.siblingSink(shardName(prefix, 0, 1));
  for (const p of planned) {
    if (!p.payload) continue;
    const offset = data.position;
    let crc = 0;
    if ("tensor" in p.payload) {
      for await (const piece of p.payload.tensor.data.chunks(CHUNK)) {
        crc = crc32c(piece, crc);
        await data.write(piece);
      }
    } else {
      const { copyFrom, offset: from, size } = p.payload;
      for (let at = 0; at < size; at += CHUNK) {
        const piece = await copyFrom.read(from + at, Math.min(CHUNK, size - at));
        crc = crc32c(piece, crc);
        await data.write(piece);
      }
      // String entries checksum their lengths as integers, not the bytes: their crc is kept (the
      // template's reader verified it); numeric ones must match the bytes copied.
      if (p.payload.numeric && crc !== unmaskCrc32c(p.payload.maskedCrc32c))
        throw new WeightbridgeError("corrupt", "template entry's bytes do not match their crc32c", { file: copyFrom.name, offset: from });
      crc = unmaskCrc32c(p.payload.maskedCrc32c);
    }
    p.entry = { ...p.entry, shard_id: 0, offset, size: data.position - offset, crc32c: maskCrc32c(crc) };
  }
  const header = encodeProto("BundleHeaderProto", { num_shards: 1, version: { producer: 1 } });
  const entries: TableEntry[] = [{ key: new Uint8Array(0), value: header }];
  for (const p of [...planned].sort((a, b) => compareKeys(a.rawKey, b.rawKey)))
    entries.push({ key: p.rawKey, value: encodeProto("BundleEntryProto", wireEntry(p.entry)) });
  await indexSink.write(writeTable(entries));
}

/** proto3 leaves zero values out; TensorFlow writes `shape` even when it is empty (0-d). */
function wireEntry(entry: BundleEntry): object {
  const out: Record<string, unknown> = { dtype: entry.dtype, shape: { dim: (entry.shape?.dim ?? []).map((d) => ({ size: int64(d.size) })) } };
  if (entry.shard_id) out.shard_id = entry.shard_id;
  if (int64(entry.offset)) out.offset = int64(entry.offset);
  if (int64(entry.size)) out.size = int64(entry.size);
  out.crc32c = entry.crc32c ?? 0;
  if (entry.slices.length > 0) out.slices = entry.slices;
  return out;
}

function freshEntry(t: Tensor): BundleEntry {
  return { dtype: tfDtypeOf(t.dtype), shape: { dim: t.shape.map((size) => ({ size })) }, slices: [] };
}

/**
 * Without a template: a TF1-style name-based checkpoint, one entry per tensor under its name
 * (a TF1 source's optimizer slots get their keys back: `optimizer/dense/kernel/Adam` → `dense/kernel/Adam`).
 */
async function writeNameBased(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  checkUniqueNames(checkpoint.tensors, { file: sink.name });
  const seen = new Set<string>();
  const planned: PlannedEntry[] = [];
  const meta = checkpoint.meta.tensorflow as { bundle?: { object_graph?: boolean }; checkpoint_keys?: Record<string, string> } | undefined;
  const keys = meta?.bundle?.object_graph === false ? (meta.checkpoint_keys ?? {}) : {};
  for (const t of checkpoint.tensors) {
    if (t.name === "") throw new WeightbridgeError("usage", "a tensor has an empty name", { tensor: t.name });
    seen.add(t.name);
    try {
      planned.push({ rawKey: utf8(keys[t.name] ?? t.name), entry: freshEntry(t), payload: { tensor: t } });
    } catch {
      throw new WeightbridgeError("unsupported", `TensorFlow has no DataType for ${t.dtype}`, { tensor: t.name });
    }
  }
  const step = (checkpoint.meta.tensorflow as { global_step?: unknown } | undefined)?.global_step;
  if (typeof step === "number" && Number.isSafeInteger(step) && !seen.has("global_step")) {
    // A TF1 checkpoint's step counter (read into meta) goes back as the int64 scalar it was.
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, BigInt(step), true);
    const t = makeTensor("global_step", "int64", [], bytesData(bytes));
    planned.push({ rawKey: utf8(t.name), entry: freshEntry(t), payload: { tensor: t } });
  }
  // TensorFlow's Saver adds variables in key order, so their bytes follow that order too.
  planned.sort((a, b) => compareKeys(a.rawKey, b.rawKey));
  await emitBundle(planned, sink, options);
}

/** Checkpoint key → the tensor name the template's reader gave it. */
export function namesByKey(template: Checkpoint | undefined): Map<string, string> {
  const keys = (template?.meta.tensorflow as { checkpoint_keys?: Record<string, string> } | undefined)?.checkpoint_keys ?? {};
  return new Map(Object.entries(keys).map(([name, key]) => [key, name]));
}

/**
 * Re-weights a template bundle: every entry keeps its key, dtype and shape; entries whose tensor
 * the checkpoint holds get its bytes (shape and dtype checked), the rest (optimizer slots,
 * counters, the object graph) keep the template's bytes. Slices are refused.
 */
export async function reweightBundle(
  template: Bundle,
  names: Map<string, string>,
  checkpoint: Checkpoint,
  sink: ByteSink,
  options: WriteOptions,
): Promise<void> {
  const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
  const used = new Set<string>();
  const kept: string[] = [];
  const planned: PlannedEntry[] = [];
  for (const { rawKey, key, entry } of template.raw) {
    if (entry.slices.length > 0 || rawKey[0] === 0)
      throw new WeightbridgeError("unsupported", "re-weighting a template with partitioned variables", { tensor: key });
    const name = names.get(key) ?? key;
    const tensor = byName.get(name) ?? byName.get(key);
    if (tensor) {
      const want = template.tensors.find((t) => t.key === key);
      if (!want) throw new WeightbridgeError("template-mismatch", "the template entry holds no numeric tensor", { tensor: name });
      if (tensor.dtype !== want.dtype || tensor.shape.join(",") !== want.shape.join(",")) {
        throw new WeightbridgeError(
          "template-mismatch",
          `is ${tensor.dtype}[${tensor.shape.join(", ")}], the template's ${key} is ${want.dtype}[${want.shape.join(", ")}]`,
          { tensor: name },
        );
      }
      used.add(tensor.name);
      planned.push({ rawKey, entry: { ...entry, slices: [] }, payload: { tensor } });
    } else {
      const shard = template.shards[entry.shard_id ?? 0]!;
      planned.push({
        rawKey,
        entry,
        payload: { copyFrom: shard, offset: int64(entry.offset), size: int64(entry.size), maskedCrc32c: entry.crc32c ?? 0, numeric: entry.dtype !== DT_STRING },
      });
      if (template.tensors.some((t) => t.key === key)) kept.push(name.replace(/\/\.ATTRIBUTES\/VARIABLE_VALUE$/, ""));
    }
  }
  const unused = checkpoint.tensors.filter((t) => !used.has(t.name)).map((t) => t.name);
  if (unused.length > 0) {
    const message = `${unused.length} tensors have no entry in the template and are not written: ${unused.slice(0, 8).join(", ")}${unused.length > 8 ? " …" : ""}`;
    if (options.strict) throw new WeightbridgeError("template-mismatch", message);
    options.warn?.(message);
  }
  // The template's data order is kept (TF2 writes the object graph last, not in key order).
  const position = (e: BundleEntry) => (e.shard_id ?? 0) * 2 ** 40 + int64(e.offset);
  const order = new Map(template.raw.map(({ rawKey, entry }) => [rawKey, position(entry)]));
  planned.sort((a, b) => order.get(a.rawKey)! - order.get(b.rawKey)!);
  settleKeptTemplateValues(kept, options, sink.name);
  await emitBundle(planned, sink, options);
}

/** `tf-checkpoint` output: re-weights `--template ckpt.index`, else writes a name-based checkpoint. */
export async function writeCheckpoint(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  const templateIndex = options.templateSource;
  if (!templateIndex || options.template?.format !== "tf-checkpoint") return writeNameBased(checkpoint, sink, options);
  const template = await readBundle(templateIndex, (name) => templateIndex.sibling!(name));
  try {
    await reweightBundle(template, namesByKey(options.template), checkpoint, sink, options);
  } finally {
    for (const s of template.shards) await s.close().catch(() => {});
  }
}
