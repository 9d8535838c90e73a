import { WeightbridgeError } from "../../errors.js";
import type { ByteSource } from "../../io/source.js";
import { openZip, type ZipArchive } from "../../io/zip.js";
import { isFlatStateDict, metaOf, type Checkpoint } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { unpickleDetailed, type UnpickleOptions, type UnpickleResult } from "../../pickle/index.js";
import type { PickleValue } from "../../pickle/values.js";
import type { ReadOptions } from "../types.js";
import { TorchArchive } from "./archive.js";
import { moduleHook, shareLayerHints } from "./modules.js";
import type { StorageBlob } from "./storage.js";
import { storageKeys, TensorResolver } from "./tensors.js";
import { walkValue, type WalkContext } from "./walk.js";
import { unreadTensors } from "./unread.js";

/**
 * Reads a torch.save zip checkpoint (any torch ≥ 1.6), state dicts and whole-model pickles alike.
 * `zip` is the archive's directory when the sniffer already opened it.
 */
export async function readTorchZip(source: ByteSource, options: ReadOptions = {}, zip?: ZipArchive): Promise<Checkpoint> {
  const archive = await TorchArchive.open(zip ?? (await openZip(source)));
  const warnings: string[] = [];
  const root = unpickleTorch(await archive.readRecord("data.pkl"), `${source.name}:${archive.prefix}data.pkl`, options, warnings).value;
  const storages = new Map<string, StorageBlob>();
  for (const key of storageKeys(root)) storages.set(key, await archive.storage("data/", key));
  const resolver = new TensorResolver(storages, archive.bigEndian);
  resolver.warnings.push(...warnings);
  return checkpointFromObject(root, resolver, "pytorch");
}

/**
 * Unpickles a torch pickle. Globals that could run code are refused ('unsafe-pickle'), unless
 * the caller tolerates them (inspect): then they stay inert stubs and each is listed in `warnings`.
 */
export function unpickleTorch(bytes: Uint8Array, label: string, options: ReadOptions, warnings: string[], extra: UnpickleOptions = {}): UnpickleResult {
  const tolerate = options.tolerateUnsafePickles === true;
  const result = unpickleDetailed(bytes, { name: label, preserveFloats: true, ...extra, refuseDangerous: !tolerate });
  warnings.push(...unsafeWarnings(result, label));
  // A zip record is one pickle; bytes after its STOP are what another loader might read as a second one.
  if (extra.start === undefined && result.end < bytes.length) {
    const message = `${bytes.length - result.end} bytes follow the pickle's STOP at byte ${result.end - 1} (a second pickle hidden behind the first?)`;
    if (!tolerate) throw new WeightbridgeError("unsafe-pickle", message, { file: label, offset: result.end });
    warnings.push(`UNSAFE: ${label}: ${message}`);
  }
  return result;
}

/** One warning per code-running global a (tolerated) pickle references. */
export function unsafeWarnings(result: UnpickleResult, label: string): string[] {
  return result.globals
    .filter((g) => g.status === "dangerous")
    .map((g) => `UNSAFE: ${label} references ${g.module}.${g.name} (${g.opcode} at byte ${g.offset}); not executed`);
}

/** Walks an unpickled object into a checkpoint: tensors, structure, meta, layer hints of whole models. */
export function checkpointFromObject(root: PickleValue, resolver: TensorResolver, format: string, object?: WalkContext["object"]): Checkpoint {
  const read = new Set<object>();
  const tensor = (v: PickleValue, n: string) => {
    const t = resolver.tensor(v, n);
    if (t) read.add(v as object);
    return t;
  };
  const ctx: WalkContext = { tensor, tensors: [], warnings: resolver.warnings };
  const relativeNames = new Map<Tensor, string>();
  const modules = moduleHook(ctx, relativeNames);
  ctx.object = (value, name, walk) => object?.(value, name, walk) ?? modules(value, name, walk);
  const structure = walkValue(root, "", ctx);
  shareLayerHints(ctx.tensors, relativeNames);
  const checkpoint: Checkpoint = { format, tensors: ctx.tensors, meta: metaOf(structure) };
  if (!isFlatStateDict(structure)) checkpoint.structure = structure;
  if (ctx.warnings.length) checkpoint.warnings = ctx.warnings;
  const skipped = unreadTensors(root, read);
  if (skipped.length) checkpoint.skipped = skipped;
  return checkpoint;
}
