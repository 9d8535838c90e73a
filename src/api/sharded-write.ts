import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { WeightbridgeError } from "../errors.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import type { Tensor } from "../tensor/tensor.js";

/** Parses `500MB`, `5GB`, `2GiB`, `1.5G`, `1048576` (decimal units like Hugging Face; `i` for binary). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(text);
  if (!m) throw new WeightbridgeError("usage", `cannot read size '${text}' (try 500MB, 5GB or 2GiB)`);
  const power = " kmgt".indexOf(m[2]!.toLowerCase() || " ");
  const base = m[3] ? 1024 : 1000;
  const bytes = Math.floor(Number(m[1]) * base ** power);
  if (!(bytes > 0)) throw new WeightbridgeError("usage", `shard size must be positive, got '${text}'`);
  return bytes;
}

/** Splits tensors into shards of at most `maxBytes` each, in order (a bigger tensor gets a shard of its own). */
export function planShards(tensors: Tensor[], maxBytes: number): Tensor[][] {
  const shards: Tensor[][] = [];
  let current: Tensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (current.length > 0 && size + t.data.byteLength > maxBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.data.byteLength;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/** `dir/model.safetensors` → `model-00002-of-00005.safetensors` (Hugging Face's naming). */
export function shardFileName(path: string, index: number, count: number): string {
  const name = basename(path);
  const dot = name.indexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : "";
  const pad = (n: number) => String(n).padStart(5, "0");
  return `${stem}-${pad(index + 1)}-of-${pad(count)}${ext}`;
}

export interface ShardPlan {
  files: Array<{ path: string; checkpoint: Checkpoint }>;
  indexPath: string;
  index: { metadata: { total_size: number }; weight_map: Record<string, string> };
}

export function shardPlan(checkpoint: Checkpoint, path: string, maxBytes: number): ShardPlan {
  const groups = planShards(checkpoint.tensors, maxBytes);
  const weightMap: Record<string, string> = {};
  const files = groups.map((tensors, i) => {
    const name = shardFileName(path, i, groups.length);
    for (const t of tensors) weightMap[t.name] = name;
    return { path: join(dirname(path), name), checkpoint: { tensors, meta: checkpoint.meta } as Checkpoint };
  });
  const total = checkpoint.tensors.reduce((n, t) => n + t.data.byteLength, 0);
  return { files, indexPath: `${path}.index.json`, index: { metadata: { total_size: total }, weight_map: weightMap } };
}

/**
 * The files an earlier write to `path` left, whole or sharded: `path` itself, its
 * `path.index.json` and every shard that index lists (plain names beside it; anything else is
 * not ours to remove). A new write replaces this set as a whole.
 */
export async function previousOutputSet(path: string): Promise<string[]> {
  const indexPath = `${path}.index.json`;
  const found = [path, indexPath].filter((p) => existsSync(p));
  let listed: unknown;
  try {
    listed = (JSON.parse(await readFile(indexPath, "utf8")) as { weight_map?: unknown }).weight_map;
  } catch {
    return found; // no index, or not one we can read: only the two names are the set
  }
  if (typeof listed !== "object" || listed === null) return found;
  const shards = new Set(
    Object.values(listed).filter((name): name is string => typeof name === "string" && name === basename(name) && name !== "." && name !== ".."),
  );
  return [...found, ...[...shards].map((name) => join(dirname(path), name)).filter((p) => existsSync(p))];
}
