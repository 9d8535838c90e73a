import type { ByteSource } from "../../io/source.js";
import { openZip } from "../../io/zip.js";
import { isFlatStateDict, metaOf, type Checkpoint } from "../../tensor/checkpoint.js";
import { unpickle } from "../../pickle/index.js";
import type { PickleValue } from "../../pickle/values.js";
import { TorchArchive } from "./archive.js";
import type { StorageBlob } from "./storage.js";
import { storageKeys, TensorResolver } from "./tensors.js";
import { walkValue, type WalkContext } from "./walk.js";

/** Reads a torch.save zip checkpoint (any torch ≥ 1.6). */
export async function readTorchZip(source: ByteSource): Promise<Checkpoint> {
  const archive = await TorchArchive.open(await openZip(source));
  const pickleName = `${archive.prefix}data.pkl`;
  const root = unpickle(await archive.readRecord("data.pkl"), { name: `${source.name}:${pickleName}`, preserveFloats: true });
  const storages = new Map<string, StorageBlob>();
  for (const key of storageKeys(root)) storages.set(key, await archive.storage("data/", key));
  return checkpointFromObject(root, new TensorResolver(storages, archive.bigEndian), "pytorch");
}

/** Walks an unpickled object into a checkpoint: tensors, structure, meta. */
export function checkpointFromObject(
  root: PickleValue,
  resolver: TensorResolver,
  format: string,
  object?: WalkContext["object"],
): Checkpoint {
  const ctx: WalkContext = { tensor: (v, n) => resolver.tensor(v, n), tensors: [], warnings: resolver.warnings };
  if (object) ctx.object = object;
  const structure = walkValue(root, "", ctx);
  const checkpoint: Checkpoint = { format, tensors: ctx.tensors, meta: metaOf(structure) };
  if (!isFlatStateDict(structure)) checkpoint.structure = structure;
  if (ctx.warnings.length) checkpoint.warnings = ctx.warnings;
  return checkpoint;
}
