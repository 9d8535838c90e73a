import { mkdir, readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { formats } from "../api/formats.js";
import { isModelPath } from "../api/open.js";
import { WeightbridgeError } from "../errors.js";
import { UsageError, describeError } from "./output.js";
import { endProgressLines } from "./progress.js";
import { STDIO } from "./stdio.js";
import { outputFormat } from "../api/write.js";
import type { FormatId } from "../formats/index.js";

/** One conversion of a batch: where from, where to. */
export interface BatchItem {
  input: string;
  output: string;
}

/** A model's extension the output name drops (`model.pt` → `model`, `x.weights.h5` → `x`). */
function stem(file: string): string {
  const lower = file.toLowerCase();
  const known = formats()
    .flatMap((f) => f.extensions)
    .sort((a, b) => b.length - a.length)
    .find((ext) => lower.endsWith(ext));
  if (known) return file.slice(0, file.length - known.length);
  const dot = file.lastIndexOf(".");
  return dot > 0 ? file.slice(0, dot) : file;
}

/** A folder given as a batch input stands for its files, unless the folder itself is a model (a SavedModel). */
async function expandFolder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) return [path];
  if (await isModelPath(path)) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith("."))
    .map((e) => join(path, e.name))
    .sort();
}

/**
 * The conversions `convert IN... OUTDIR --to FORMAT` stands for, or undefined when the command
 * is one plain conversion (one file in, OUT a file or a model folder).
 */
export async function batchPlan(inputs: string[], out: string, to: string | undefined): Promise<BatchItem[] | undefined> {
  const singleFolder = inputs.length === 1 && (await stat(inputs[0]!).catch(() => undefined))?.isDirectory();
  if (singleFolder && (await namesOneFile(out, to))) return undefined;
  const expanded = (await Promise.all(inputs.map(expandFolder))).flat();
  if (inputs.length === 1 && (!singleFolder || (expanded.length === 1 && expanded[0] === inputs[0]))) return undefined;
  if (!to) throw new UsageError("converting several files needs --to FORMAT (the output names follow it)");
  const target = formats().find((f) => f.id === to);
  if (!target) throw new UsageError(`unknown format '${to}' (weightbridge formats lists them)`);
  if (expanded.length === 0) throw new UsageError(`${inputs.join(", ")}: no files to convert`);
  const outInfo = await stat(out).catch(() => undefined);
  if (outInfo && !outInfo.isDirectory()) throw new UsageError(`${out}: converting several files needs OUT to be a folder`);
  await mkdir(out, { recursive: true });
  const taken = new Set<string>();
  return expanded.map((input) => {
    const name = basename(stem(input));
    // `...safetensors` would name its output `OUT/..`, the folder above OUT.
    if (name === "" || name === "." || name === "..")
      throw new UsageError(`${input}: its name without the extension is '${name}', which cannot name an output; rename it`);
    const output = join(out, `${name}${target.extensions[0]}`);
    if (taken.has(output)) throw new UsageError(`${input}: two inputs would both be written to ${output}`);
    taken.add(output);
    return { input, output };
  });
}

/** OUT names one file (`out.safetensors`, `-`), not a folder to fill: IN must then be one model. */
async function namesOneFile(out: string, to: string | undefined): Promise<boolean> {
  if (out === STDIO) return true;
  if ((await stat(out).catch(() => undefined))?.isDirectory()) return false;
  const named = to ? formats().find((f) => f.id === to) : undefined;
  const extensions = named
    ? named.extensions
    : formats()
        .filter((f) => f.write)
        .flatMap((f) => f.extensions);
  return extensions.some((ext) => ext !== "/" && out.toLowerCase().endsWith(ext));
}

/**
 * The input and output of a plain conversion, as `cp` reads its arguments: an existing folder OUT
 * (not a model folder, and not the output of a folder format such as a SavedModel) receives
 * the file under its own name (its extension changed to --to's); a folder IN holding one model file (beside non-model folders
 * stepped over) stands for that file.
 */
export async function plainTarget(input: string, out: string, to: string | undefined): Promise<BatchItem> {
  const files = await expandFolder(input);
  if (files.length !== 1) {
    throw new UsageError(
      `${input} is a folder of ${files.length} files and ${out} one output: give one file, or an output folder (convert ${input} OUTDIR/ --to FORMAT)`,
    );
  }
  const source = files[0]!;
  if (out === STDIO || !(await stat(out).catch(() => undefined))?.isDirectory() || (await isModelPath(out))) return { input: source, output: out };
  if (to && outputFormat(join(out, "x"), to as FormatId).format.writesFolder) return { input: source, output: out };
  if (!to) return { input: source, output: join(out, basename(source)) };
  const target = formats().find((f) => f.id === to);
  if (!target) throw new UsageError(`unknown format '${to}' (weightbridge formats lists them)`);
  return { input: source, output: join(out, `${basename(stem(source))}${target.extensions[0]}`) };
}

/** Runs each conversion; a failure is reported and the batch goes on. Returns the exit code. */
export async function runBatch(items: BatchItem[], convertOne: (item: BatchItem, index: number) => Promise<void>, quiet: boolean): Promise<number> {
  const failed: string[] = [];
  for (const [i, item] of items.entries()) {
    try {
      await convertOne(item, i);
    } catch (e) {
      if (!(e instanceof WeightbridgeError)) throw e;
      failed.push(item.input);
      endProgressLines();
      process.stderr.write(`weightbridge: error: ${describeError(e)}\n`);
    }
  }
  endProgressLines();
  const done = items.length - failed.length;
  if (!quiet || failed.length > 0) {
    process.stderr.write(`weightbridge: converted ${done} of ${items.length} file(s)${failed.length ? `; failed: ${failed.join(", ")}` : ""}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}
