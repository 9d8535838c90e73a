import { dirname, join } from "node:path";
import { WeightbridgeError } from "../errors.js";
import { readRegularFile, resolveInsideReal, type ByteSource } from "../io/source.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import type { Tensor } from "../tensor/tensor.js";

/** Hugging Face style shard index: `{"metadata": {...}, "weight_map": {tensor: shard file}}`. */
export interface ShardIndex {
  metadata?: Record<string, unknown>;
  weight_map: Record<string, string>;
}

const MAX_INDEX_BYTES = 64 << 20;

export function isShardIndexPath(path: string): boolean {
  return path.toLowerCase().endsWith(".index.json");
}

export async function loadShardIndex(path: string): Promise<ShardIndex> {
  return parseShardIndex(new TextDecoder().decode(await readRegularFile(path, MAX_INDEX_BYTES)), path);
}

/** The index of a source (the page: a dropped index.json whose shards are its siblings). */
export async function loadShardIndexOf(source: ByteSource): Promise<ShardIndex> {
  if (source.size > MAX_INDEX_BYTES) throw new WeightbridgeError("corrupt", "shard index is larger than 64 MiB", { file: source.name });
  return parseShardIndex(new TextDecoder().decode(await source.read(0, source.size)), source.name);
}

function parseShardIndex(text: string, path: string): ShardIndex {
  let index: ShardIndex;
  try {
    index = JSON.parse(text) as ShardIndex;
  } catch (e) {
    throw new WeightbridgeError("corrupt", `shard index is not valid JSON: ${(e as Error).message}`, { file: path });
  }
  const map = index?.weight_map;
  if (!map || typeof map !== "object" || !Object.values(map).every((v) => typeof v === "string")) {
    throw new WeightbridgeError("corrupt", "shard index has no weight_map of tensor name → shard file", { file: path });
  }
  return index;
}

/**
 * Reads every shard an index names and joins them into one checkpoint, in shard order and each
 * shard's own order. Every listed shard must exist and hold exactly the tensors the index says.
 */
export async function readSharded(
  path: string,
  readShard: (shardPath: string) => Promise<Checkpoint & { close(): Promise<void> }>,
): Promise<Checkpoint & { close(): Promise<void> }> {
  return joinShards(path, await loadShardIndex(path), (file) => resolveInsideReal(path, file), readShard);
}

/** readSharded over a source whose shards are its siblings. */
export async function readShardedSource(
  source: ByteSource,
  readShard: (shard: ByteSource) => Promise<Checkpoint & { close(): Promise<void> }>,
): Promise<Checkpoint & { close(): Promise<void> }> {
  const folder = dirname(source.name);
  const sibling = source.sibling;
  if (!sibling) throw new WeightbridgeError("unsupported", "a shard index needs its shards beside it", { file: source.name });
  return joinShards(
    source.name,
    await loadShardIndexOf(source),
    async (file) => join(folder, file),
    async (_path, file) => readShard(await sibling(file)),
  );
}

async function joinShards(
  path: string,
  index: ShardIndex,
  shardPathOf: (file: string) => Promise<string>,
  readShard: (shardPath: string, file: string) => Promise<Checkpoint & { close(): Promise<void> }>,
): Promise<Checkpoint & { close(): Promise<void> }> {
  const shardFiles = [...new Set(Object.values(index.weight_map))];
  const opened: Array<Checkpoint & { close(): Promise<void> }> = [];
  const close = async () => {
    for (const c of opened) await c.close().catch(() => {});
  };
  try {
    const tensors: Tensor[] = [];
    const formats = new Set<string>();
    for (const file of shardFiles) {
      const shardPath = await shardPathOf(file);
      const shard = await readShard(shardPath, file);
      opened.push(shard);
      formats.add(shard.format ?? "unknown");
      for (const t of shard.tensors) {
        const listed = index.weight_map[t.name];
        if (listed !== file) {
          throw new WeightbridgeError("corrupt", listed ? `index puts this tensor in ${listed}, not ${file}` : "tensor is not in the index", {
            file: shardPath,
            tensor: t.name,
          });
        }
        tensors.push(t);
      }
    }
    const found = new Set(tensors.map((t) => t.name));
    const missing = Object.keys(index.weight_map).filter((n) => !found.has(n));
    if (missing.length) {
      throw new WeightbridgeError("corrupt", `index lists ${missing.length} tensor(s) no shard holds, e.g. '${missing[0]}'`, { file: path });
    }
    const format = formats.size === 1 ? [...formats][0]! : [...formats].join("+");
    return { format, tensors, meta: { sharded: { shards: shardFiles, ...(index.metadata ?? {}) } as never }, close };
  } catch (e) {
    await close();
    throw e;
  }
}
