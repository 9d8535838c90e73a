import { readdir, readFile, stat } from "node:fs/promises";
import { basename, isAbsolute, join } from "node:path";
import { WeightbridgeError } from "../../errors.js";

// What a user points at for TensorFlow: a SavedModel folder, `PREFIX.index`, the bare `PREFIX`
// (as tf.train.load_checkpoint takes it), or a folder holding a `checkpoint` state file.

async function kindOf(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/** `model_checkpoint_path: "..."` of a CheckpointState text file. */
function latestPrefix(text: string): string | undefined {
  const match = /^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"/m.exec(text);
  return match ? match[1]!.replace(/\\(.)/g, "$1") : undefined;
}

/** The file to open for `path`, when `path` is a TensorFlow folder or bare prefix; else undefined. */
export async function resolveTensorflowPath(path: string): Promise<string | undefined> {
  const kind = await kindOf(path);
  if (kind === "file") return undefined;
  if (kind === undefined) return (await kindOf(`${path}.index`)) === "file" ? `${path}.index` : undefined;
  if ((await kindOf(join(path, "saved_model.pb"))) === "file") return join(path, "saved_model.pb");
  const state = join(path, "checkpoint");
  if ((await kindOf(state)) === "file") {
    const prefix = latestPrefix(await readFile(state, "utf8"));
    if (prefix === undefined) throw new WeightbridgeError("corrupt", "the checkpoint state file names no model_checkpoint_path", { file: state });
    const full = isAbsolute(prefix) ? prefix : join(path, prefix);
    // A folder copied elsewhere keeps its absolute paths: try the same name inside this folder.
    for (const candidate of [full, join(path, basename(prefix))]) if ((await kindOf(`${candidate}.index`)) === "file") return `${candidate}.index`;
    const present = (await readdir(path)).filter((f) => f.endsWith(".index"));
    throw new WeightbridgeError("io", `the latest checkpoint it names, ${basename(prefix)}.index, is missing${present.length > 0 ? ` (present: ${present.join(", ")}; name one of them)` : ""}`, { file: state });
  }
  const indexes = (await readdir(path)).filter((f) => f.endsWith(".index"));
  if (indexes.length === 1) return join(path, indexes[0]!);
  return undefined;
}

