import { readdir } from "node:fs/promises";
import { basename, isAbsolute, join, normalize, relative } from "node:path";
import { WeightbridgeError } from "../../errors.js";
import { pathKind, readRegularFile, resolveInsideReal } from "../../io/source.js";

// What a user points at for TensorFlow: a SavedModel folder, `PREFIX.index`, the bare `PREFIX`
// (as tf.train.load_checkpoint takes it), or a folder holding a `checkpoint` state file.

const kindOf = pathKind;

/** `model_checkpoint_path: "..."` of a CheckpointState text file. */
function latestPrefix(text: string): string | undefined {
  const match = /^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"/m.exec(text);
  return match ? match[1]!.replace(/\\(.)/g, "$1") : undefined;
}

/** The file to open for `path`, when `path` is a TensorFlow folder or bare prefix; else undefined. */
export async function resolveTensorflowPath(path: string): Promise<string | undefined> {
  const kind = await kindOf(path);
  if (kind === "file" || kind === "other") return undefined;
  if (kind === undefined) return (await kindOf(`${path}.index`)) === "file" ? `${path}.index` : undefined;
  if ((await kindOf(join(path, "saved_model.pb"))) === "file") return join(path, "saved_model.pb");
  const state = join(path, "checkpoint");
  if ((await kindOf(state)) === "file") {
    const prefix = latestPrefix(new TextDecoder().decode(await readRegularFile(state, 1 << 20)));
    if (prefix === undefined) throw new WeightbridgeError("corrupt", "the checkpoint state file names no model_checkpoint_path", { file: state });
    // Only a checkpoint inside this folder is followed (TensorFlow writes absolute paths, which a
    // copied folder keeps: the same name inside this folder); `../x` or `/elsewhere/x` never is.
    const full = normalize(isAbsolute(prefix) ? prefix : join(path, prefix));
    const inside = !relative(path, full).startsWith("..") && !isAbsolute(relative(path, full));
    for (const candidate of [...(inside ? [full] : []), join(path, basename(prefix))]) {
      if ((await kindOf(`${candidate}.index`)) === "file") return resolveInsideReal(state, relative(path, `${candidate}.index`));
    }
    const present = (await readdir(path)).filter((f) => f.endsWith(".index"));
    throw new WeightbridgeError(
      "io",
      `the latest checkpoint it names, ${basename(prefix)}.index, is missing${present.length > 0 ? ` (present: ${present.join(", ")}; name one of them)` : ""}`,
      { file: state },
    );
  }
  const indexes = (await readdir(path)).filter((f) => f.endsWith(".index"));
  if (indexes.length === 1) return join(path, indexes[0]!);
  return undefined;
}
