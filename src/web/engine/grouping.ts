// Which of the files you give the page are models, and which belong to one (a .pdiparams beside
// its .pdmodel, ONNX external data, a SavedModel's variables/, shards beside their index).
// Pure path logic; every file stays reachable as a sibling whatever its group.

import { FORMATS } from "../../formats/index.js";

export interface ModelGroup {
  /** What the model list shows and `li[data-model]` holds: the main file's name (a SavedModel: its folder's). */
  label: string;
  /** Relative path of the file the model is read from. */
  main: string;
  /** Every file that belongs to the model, the main one first. */
  files: string[];
}

/** Models by their name: every format's extensions (a new format's files are models here too), and pickles scan reads. */
const MODEL_SUFFIXES = [
  ...new Set(FORMATS.flatMap((format) => format.extensions.filter((extension) => extension.startsWith(".")))),
  ".pkl",
  ".pickle",
  ".joblib",
  ".npy",
  ".npz",
  ".index.json",
];
/** Never models: notes, provenance, configs beside them. */
const IGNORED_SUFFIXES = [".md", ".txt", ".py", ".json", ".info", ".png", ".jpg", ".yaml", ".yml"];
const SHARD = /-\d{5}-of-\d{5}\.[a-z]+$/i;
const TF_DATA = /\.data-\d{5}-of-\d{5}$/;

const lower = (p: string) => p.toLowerCase();
const folderOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
const nameOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const hasSuffix = (p: string, suffixes: string[]) => suffixes.some((s) => lower(p).endsWith(s));

/** Groups relative paths (`folder/file`, `/` separated) into models, in the order given. */
export function groupModels(paths: readonly string[]): ModelGroup[] {
  const groups: ModelGroup[] = [];
  const claimed = new Set<string>();
  const add = (label: string, main: string, members: string[]) => {
    const files = [main, ...members.filter((m) => m !== main && !claimed.has(m))];
    for (const f of files) claimed.add(f);
    groups.push({ label, main, files });
  };
  const inFolder = (folder: string) => paths.filter((p) => folderOf(p) === folder);
  const under = (folder: string) => paths.filter((p) => folder === "" || p.startsWith(`${folder}/`));

  // SavedModel folders: everything under the folder holding saved_model.pb.
  for (const p of paths) {
    if (nameOf(p) !== "saved_model.pb") continue;
    const folder = folderOf(p);
    add(folder === "" ? "saved_model.pb" : nameOf(folder), p, under(folder));
  }
  for (const p of paths) {
    if (claimed.has(p)) continue;
    const folder = folderOf(p);
    const name = lower(nameOf(p));
    if (name.endsWith(".index.json")) {
      add(
        nameOf(p),
        p,
        inFolder(folder).filter((f) => SHARD.test(f)),
      );
    } else if (name.endsWith(".pdmodel")) {
      const stem = nameOf(p).slice(0, -".pdmodel".length);
      add(
        nameOf(p),
        p,
        inFolder(folder).filter((f) => nameOf(f) === `${stem}.pdiparams` || nameOf(f) === `${stem}.pdiparams.info`),
      );
    } else if (name.endsWith(".index") && !name.endsWith(".index.json")) {
      const prefix = p.slice(0, -".index".length);
      add(
        nameOf(p),
        p,
        inFolder(folder).filter((f) => (f.startsWith(prefix) && TF_DATA.test(f)) || nameOf(f) === "checkpoint"),
      );
    } else if (name.endsWith(".onnx")) {
      // External data has no fixed name: files beside the model that are no model themselves.
      add(
        nameOf(p),
        p,
        inFolder(folder).filter((f) => !hasSuffix(f, MODEL_SUFFIXES) && !hasSuffix(f, IGNORED_SUFFIXES)),
      );
    }
  }
  for (const p of paths) {
    if (claimed.has(p)) continue;
    if (hasSuffix(p, MODEL_SUFFIXES)) add(nameOf(p), p, []);
  }
  // A file of no known kind dropped on its own is given a try (it may be a model with any name).
  for (const p of paths) {
    if (claimed.has(p) || hasSuffix(p, IGNORED_SUFFIXES) || TF_DATA.test(p) || nameOf(p) === "checkpoint") continue;
    if (!paths.some((q) => q !== p && folderOf(q) === folderOf(p) && claimed.has(q))) add(nameOf(p), p, []);
  }
  return groups;
}
