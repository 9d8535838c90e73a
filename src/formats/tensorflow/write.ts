import { WeightbridgeError } from "../../errors.js";
import type { ByteSink } from "../../io/sink.js";
import { checkUniqueNames, type Checkpoint } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { WriteOptions } from "../types.js";
import { settleKeptTemplateValues, settleUnwritten } from "../../tensor/non-weights.js";
import { readBundle, type Bundle } from "./bundle-read.js";
import { int64 } from "./protos.js";
import { DT_STRING, tfDtypeOf } from "./dtypes.js";
import { bytesData, makeTensor } from "../../tensor/tensor.js";
import { compareEntryKeys, emitBundle, PlannedEntry } from "./bundle-write.js";
import { turnIfDue } from "../../util/event-loop.js";

function tfDtype(t: Tensor): number {
  try {
    return tfDtypeOf(t.dtype);
  } catch {
    throw new WeightbridgeError("unsupported", `TensorFlow has no DataType for ${t.dtype}`, { tensor: t.name });
  }
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
    await turnIfDue();
    if (t.name === "") throw new WeightbridgeError("usage", "a tensor has an empty name", { tensor: t.name });
    seen.add(t.name);
    planned.push(new PlannedEntry(keys[t.name] ?? t.name, tfDtype(t), t.shape, t));
  }
  const step = (checkpoint.meta.tensorflow as { global_step?: unknown } | undefined)?.global_step;
  if (typeof step === "number" && Number.isSafeInteger(step) && !seen.has("global_step")) {
    // A TF1 checkpoint's step counter (read into meta) goes back as the int64 scalar it was.
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, BigInt(step), true);
    const t = makeTensor("global_step", "int64", [], bytesData(bytes));
    planned.push(new PlannedEntry(t.name, tfDtype(t), t.shape, t));
  }
  // TensorFlow's Saver adds variables in key order, so their bytes follow that order too.
  planned.sort((a, b) => compareEntryKeys(a.key, b.key));
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
  const wanted = new Map(template.tensors.map((t) => [t.key, t]));
  const planned: PlannedEntry[] = [];
  const positions: number[] = [];
  for (const { rawKey, key, entry } of template.raw) {
    await turnIfDue();
    if (entry.slices.length > 0 || rawKey[0] === 0)
      throw new WeightbridgeError("unsupported", "re-weighting a template with partitioned variables", { tensor: key });
    const name = names.get(key) ?? key;
    const tensor = byName.get(name) ?? byName.get(key);
    const dims = (entry.shape?.dim ?? []).map((d) => int64(d.size));
    if (tensor) {
      const want = wanted.get(key);
      if (!want) throw new WeightbridgeError("template-mismatch", "the template entry holds no numeric tensor", { tensor: name });
      if (tensor.dtype !== want.dtype || tensor.shape.join(",") !== want.shape.join(",")) {
        throw new WeightbridgeError(
          "template-mismatch",
          `is ${tensor.dtype}[${tensor.shape.join(", ")}], the template's ${key} is ${want.dtype}[${want.shape.join(", ")}]`,
          { tensor: name },
        );
      }
      used.add(tensor.name);
      planned.push(new PlannedEntry(rawKey, entry.dtype, dims, tensor));
    } else {
      const shard = template.shards[entry.shard_id ?? 0]!;
      const copied = {
        copyFrom: shard,
        offset: int64(entry.offset),
        size: int64(entry.size),
        maskedCrc32c: entry.crc32c ?? 0,
        numeric: entry.dtype !== DT_STRING,
      };
      planned.push(new PlannedEntry(rawKey, entry.dtype, dims, copied));
      if (wanted.has(key)) kept.push(name.replace(/\/\.ATTRIBUTES\/VARIABLE_VALUE$/, ""));
    }
    positions.push((entry.shard_id ?? 0) * 2 ** 40 + int64(entry.offset));
  }
  const unused = checkpoint.tensors.filter((t) => !used.has(t.name)).map((t) => t.name);
  settleUnwritten(unused, options, sink.name);
  // The template's data order is kept (TF2 writes the object graph last, not in key order).
  const order = planned.map((_, i) => i).sort((a, b) => positions[a]! - positions[b]!);
  settleKeptTemplateValues(kept, options, sink.name);
  await emitBundle(
    order.map((i) => planned[i]!),
    sink,
    options,
  );
}

/** `tf-checkpoint` output: re-weights `--template ckpt.index`, else writes a name-based checkpoint. */
export async function writeCheckpoint(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  const templateIndex = options.templateSource;
  if (!templateIndex || options.template?.format !== "tf-checkpoint") return writeNameBased(checkpoint, sink, options);
  const template = await readBundle(templateIndex, (name) => templateIndex.sibling!(name), true);
  try {
    await reweightBundle(template, namesByKey(options.template), checkpoint, sink, options);
  } finally {
    for (const s of template.shards) await s.close().catch(() => {});
  }
}
