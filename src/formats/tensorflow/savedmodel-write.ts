import { WeightbridgeError } from "../../errors.js";
import type { ByteSink } from "../../io/sink.js";
import type { ByteSource } from "../../io/source.js";
import type { Checkpoint } from "../../tensor/checkpoint.js";
import type { WriteOptions } from "../types.js";
import { readBundle } from "./bundle-read.js";
import { namesByKey, reweightBundle } from "./write.js";

const CHUNK = 8 << 20;

/** Files that are not copied from the template: the variables (re-written) and the fingerprint. */
function isReplaced(rel: string): boolean {
  return rel.split("/")[0] === "variables" || rel === "fingerprint.pb" || rel === "saved_model.pb";
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
    throw new WeightbridgeError(
      "usage",
      "writing a SavedModel needs --template SAVED_MODEL_DIR (its graph cannot be made from weights); without one, write a TF checkpoint (OUT.index)",
      { file: sink.name },
    );
  }
  if (!options.siblingSink) throw new WeightbridgeError("unsupported", "a SavedModel is a folder: write it to a path", { file: sink.name });
  if (!pb.sibling || !pb.folderFiles)
    throw new WeightbridgeError("unsupported", "the template SavedModel must be a folder of files, not a stream", { file: pb.name });
  const index = await pb.sibling("variables/variables.index");
  const template = await readBundle(index, (name) => index.sibling!(name), true).catch(async (e: unknown) => {
    await index.close();
    throw e;
  });
  try {
    await copyInto(pb, sink);
    for (const rel of await pb.folderFiles()) {
      if (isReplaced(rel)) continue;
      const from = await pb.sibling(rel);
      try {
        await copyInto(from, await options.siblingSink(rel));
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
