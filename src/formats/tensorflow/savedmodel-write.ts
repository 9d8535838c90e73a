import { readdir } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { WeightbridgeError } from "../../errors.js";
import type { ByteSink } from "../../io/sink.js";
import { fileSource, type ByteSource } from "../../io/source.js";
import type { Checkpoint } from "../../tensor/checkpoint.js";
import type { WriteOptions } from "../types.js";
import { readBundle } from "./bundle-read.js";
import { namesByKey, reweightBundle } from "./write.js";

const CHUNK = 8 << 20;

/** Files that are not copied from the template: the variables (re-written) and the fingerprint. */
function isReplaced(rel: string): boolean {
  const parts = rel.split(sep);
  return parts[0] === "variables" || rel === "fingerprint.pb" || rel === "saved_model.pb";
}

async function filesUnder(folder: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(relative(folder, path));
    }
  };
  await walk(folder);
  return out.sort();
}

async function copyInto(source: ByteSource, sink: ByteSink): Promise<void> {
  for (let at = 0; at < source.size; at += CHUNK) await sink.write(await source.read(at, Math.min(CHUNK, source.size - at)));
}

/**
 * Re-weights a template SavedModel folder: saved_model.pb, keras_metadata.pb, assets/ and every
 * other file are the template's byte for byte; variables/ holds the new values under the
 * template's keys with fresh crc32c. fingerprint.pb is left out: it records a hash of the
 * variables index, which changes (TensorFlow loads a SavedModel without one).
 */
export async function writeSavedModel(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  const pb = options.templateSource;
  if (!pb || options.template?.format !== "tf-savedmodel") {
    throw new WeightbridgeError("usage", "writing a SavedModel needs --template SAVED_MODEL_DIR (its graph cannot be made from weights); without one, write a TF checkpoint (OUT.index)", { file: sink.name });
  }
  if (!options.siblingSink) throw new WeightbridgeError("unsupported", "a SavedModel is a folder: write it to a path", { file: sink.name });
  const folder = dirname(pb.name);
  const index = await fileSource(join(folder, "variables", "variables.index"));
  const template = await readBundle(index, (name) => index.sibling!(name)).catch(async (e: unknown) => {
    await index.close();
    throw e;
  });
  try {
    await copyInto(pb, sink);
    for (const rel of await filesUnder(folder)) {
      if (isReplaced(rel)) continue;
      const from = await fileSource(join(folder, rel));
      try {
        await copyInto(from, await options.siblingSink(rel.split(sep).join("/")));
      } finally {
        await from.close();
      }
    }
    const indexSink = await options.siblingSink("variables/variables.index");
    await reweightBundle(template, namesByKey(options.template), checkpoint, indexSink, {
      ...options,
      siblingSink: (name) => options.siblingSink!(`variables/${name}`),
    });
  } finally {
    for (const s of [index, ...template.shards]) await s.close().catch(() => {});
  }
}
