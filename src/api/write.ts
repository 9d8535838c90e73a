import { mkdir, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { trackTemporary, untrackTemporary } from "../io/temporaries.js";
import { utf8 } from "../util/bytes.js";
import { previousOutputSet, shardPlan } from "./sharded-write.js";
import { checkFolderOutput, folderOutputPath, replaceFolder } from "./folder-output.js";
import { atomicFileSink, MemorySink, type ByteSink } from "../io/sink.js";
import { fileSource, type ByteSource } from "../io/source.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import { observeWrites } from "../io/random-access.js";
import { withLookahead } from "../kernels/lookahead.js";
import { kernelWorkersAvailable } from "../kernels/kernel-pool.js";
import { WeightbridgeError } from "../errors.js";
import { FORMATS, formatById, formatForOutputName, knownFormat, outputVariantFor, type FormatId, type KnownFormat } from "../formats/index.js";
import type { Format, Framework, OutputVariant, WriteOptions as FormatWriteOptions } from "../formats/types.js";
import { groupedFormatOptions, type FlatFormatOptions } from "./format-options.js";
import { refuseUnwritablePacked } from "./packed-dtypes.js";

export interface WriteOptions extends FlatFormatOptions {
  /** Output format; otherwise from the file name (`x.weights.h5` keras, `x.h5` keras-h5 ...). */
  format?: FormatId;
  /** Replace an existing output file. */
  force?: boolean;
  /** A checkpoint of the target framework to follow (names, order, graph). */
  template?: Checkpoint;
  templateSource?: ByteSource;
  strict?: boolean;
  /** A re-weighted template's weights the checkpoint gives no value keep the template's instead of failing. */
  keepTemplateValues?: boolean;
  /** Tensors the template has no place for are left out (named in a warning) instead of failing. */
  allowDrop?: boolean;
  /** Split the output into shards of at most this many bytes plus a Hugging Face style index.json. */
  maxShardSize?: number;
  /**
   * Called once everything is written, before anything is renamed into place, with the fresh
   * output: its temporary folder, or sources for its temporary files (the main file, or each
   * shard) whose side files resolve to the temporaries too. Throwing aborts the write: no
   * output appears (convert --verify).
   */
  beforeCommit?(output: string | ByteSource[]): Promise<void>;
  /** Whose conventions the tensors follow; default: the framework of the format they were read from. */
  framework?: Framework;
  /**
   * Opens each output file instead of a temporary file beside it: the main file, side files,
   * shards and index by their paths (`dirname(OUT)/name`), and for a folder format each file
   * as `OUT/relative`. For outputs that are not paths (the page writes through the browser's
   * File System Access API); each sink's commit() makes its file visible. No `beforeCommit` with it.
   */
  openSink?(path: string): Promise<ByteSink>;
  /** Called with bytes written so far, the total tensor bytes and (about) how many tensors are done. */
  onProgress?(written: number, total: number, tensorsDone?: number, tensorCount?: number): void;
}

/** The output's format (named, or from the file name) and the variant its name asks for (`.keras`: a zip). */
export function outputFormat(path: string, format?: FormatId): { format: KnownFormat; variant?: OutputVariant } {
  const chosen = format ? formatById(format) : formatForOutputName(path);
  if (!chosen) {
    const readOnly = readOnlyFormatForName(path);
    if (readOnly) throw readOnlyError(readOnly, path);
    throw new WeightbridgeError("usage", `cannot tell the output format from '${basename(path)}'; pass --to (weightbridge formats lists them)`, { file: path });
  }
  if (!chosen.write) throw readOnlyError(chosen, path);
  return { format: chosen, variant: outputVariantFor(chosen, path) };
}

function readOnlyFormatForName(path: string): Format | undefined {
  const lower = path.toLowerCase();
  return FORMATS.find((f) => !f.write && f.extensions.some((ext) => lower.endsWith(ext)));
}

function readOnlyError(format: Format, path: string): WeightbridgeError {
  const writable = FORMATS.filter((f) => f.write)
    .map((f) => `${f.id} (${f.extensions[0]})`)
    .join(", ");
  return new WeightbridgeError("unsupported", `weightbridge reads ${format.name} files but cannot write them; write one of ${writable}`, { file: path });
}

function withProgress(sink: ByteSink, onProgress?: (written: number) => void): ByteSink {
  if (!onProgress) return sink;
  return {
    get name() {
      return sink.name;
    },
    get position() {
      return sink.position;
    },
    async write(bytes) {
      await sink.write(bytes);
      onProgress(sink.position);
    },
    commit: () => sink.commit(),
    abort: () => sink.abort(),
    positioned:
      sink.positioned &&
      (() => {
        const file = sink.positioned!();
        return file && observeWrites(file, () => onProgress(sink.position));
      }),
    scratch: sink.scratch && (() => sink.scratch!()),
  };
}

/**
 * Writes a checkpoint to `path` atomically (temporary file, then rename). Side files (ONNX
 * external data) are written the same way and appear only together with the main file.
 * Returns the writer's warnings.
 */
export async function write(checkpoint: Checkpoint, path: string, givenOptions: WriteOptions = {}): Promise<string[]> {
  const options = { ...givenOptions, framework: givenOptions.framework ?? frameworkOfFormat(checkpoint.format) };
  const { format, variant } = outputFormat(path, options.format);
  if (options.openSink && options.beforeCommit) throw new WeightbridgeError("usage", "beforeCommit needs file outputs, not openSink", { file: path });
  const shardSize = options.maxShardSize;
  if (shardSize !== undefined && !(Number.isSafeInteger(shardSize) && shardSize > 0)) {
    throw new WeightbridgeError("usage", `maxShardSize must be a positive whole number of bytes, not ${String(shardSize)}`, { file: path });
  }
  refuseUnwritablePacked(checkpoint, format, path);
  if (format.writesFolder)
    return options.openSink ? writeFolderThrough(options.openSink, checkpoint, path, format, options) : writeFolder(checkpoint, path, format, options);
  const warnings: string[] = [];
  const pending: ByteSink[] = [];
  const total = checkpoint.tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const progress = options.onProgress;
  let done = 0;
  // Tensors done, estimated from the bytes written (headers make it run slightly ahead).
  const ends: number[] = [];
  for (const t of checkpoint.tensors) ends.push((ends[ends.length - 1] ?? 0) + t.data.byteLength);
  let tensorsDone = 0;
  const report = (written: number) => {
    while (tensorsDone < ends.length && ends[tensorsDone]! <= written) tensorsDone++;
    progress!(Math.min(written, total), total, tensorsDone, ends.length);
  };
  const open = async (target: string) => {
    const sink = options.openSink ? await options.openSink(target) : await atomicFileSink(target, { force: options.force });
    pending.push(sink);
    return withProgress(sink, progress ? (bytes) => report(done + bytes) : undefined);
  };
  const writeOne = async (target: string, part: Checkpoint) => {
    const sink = await open(target);
    // Computing the next tensor ahead in general pays only when a worker can do it beside this thread.
    const tensors = withLookahead(part.tensors, kernelWorkersAvailable());
    await format.write!(
      { ...part, tensors },
      sink,
      {
        ...writerOptions(options, warnings),
        siblingSink: (name) => open(sideFilePath(target, name)),
      },
      variant?.variant,
    );
    done += part.tensors.reduce((n, t) => n + t.data.byteLength, 0);
  };
  // What an earlier whole or sharded write left here is one output: it needs --force, and is
  // replaced as a whole (stale shards and a stale whole file removed once the new set is in place).
  const previous = options.openSink ? [] : await previousOutputSet(path);
  if (previous.length > 0 && !options.force) {
    throw new WeightbridgeError("exists", "output file already exists (use --force to replace it)", { file: previous[0] });
  }
  const written: string[] = [];
  try {
    const plan = options.maxShardSize ? shardPlan(checkpoint, path, options.maxShardSize) : undefined;
    written.push(...(plan && plan.files.length > 1 ? [...plan.files.map((f) => f.path), plan.indexPath] : [path]));
    if (plan && plan.files.length > 1) {
      if (checkpoint.structure) warnings.push("sharded output is flat: the source's nesting is not kept");
      for (const file of plan.files) await writeOne(file.path, file.checkpoint);
      const sink = await open(plan.indexPath);
      await sink.write(utf8(`${JSON.stringify(plan.index, null, 2)}\n`));
    } else await writeOne(path, checkpoint);
    if (options.beforeCommit) {
      for (const sink of pending) await sink.drain?.();
      const files = plan && plan.files.length > 1 ? plan.files.map((f) => f.path) : [path];
      await options.beforeCommit(await Promise.all(files.map((f) => pendingSource(f, pending))));
    }
    // Side files and shards first, the named output (or index) last: it appears only when all is there.
    for (const sink of pending) await sink.commit();
    for (const stale of previous) if (!written.includes(stale)) await rm(stale, { force: true });
  } catch (e) {
    for (const sink of pending) await sink.abort().catch(() => {});
    if (e instanceof WeightbridgeError) throw e.at({ file: path });
    throw e;
  }
  return warnings;
}

/**
 * A folder output (SavedModel): everything is written into a temporary folder beside OUT, which
 * is renamed to OUT once every file in it is complete.
 */
async function writeFolder(checkpoint: Checkpoint, path: string, format: Format, options: WriteOptions): Promise<string[]> {
  const out = folderOutputPath(path);
  await checkFolderOutput(out, format, { force: options.force, inputs: [options.templateSource?.name] });
  const temp = join(dirname(out), `.${basename(out)}.wb-tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const warnings: string[] = [];
  const pending: ByteSink[] = [];
  const open = async (name: string) => {
    const target = insideFolder(temp, name);
    await mkdir(dirname(target), { recursive: true });
    const sink = await atomicFileSink(target);
    pending.push(sink);
    return sink;
  };
  try {
    // Tracked before it exists: a signal handled while mkdir() completes must still find it.
    trackTemporary(temp);
    await mkdir(temp);
    const main = await open(format.writesFolder!.mainFile);
    await format.write!(checkpoint, main, { ...writerOptions(options, warnings), siblingSink: open });
    for (const sink of pending) await sink.commit();
    if (options.beforeCommit) await options.beforeCommit(temp);
    await replaceFolder(temp, out, format, options.force);
    untrackTemporary(temp);
  } catch (e) {
    for (const sink of pending) await sink.abort().catch(() => {});
    await rm(temp, { recursive: true, force: true }).catch(() => {});
    untrackTemporary(temp);
    if (e instanceof WeightbridgeError) throw e.at({ file: out });
    throw e;
  }
  return warnings;
}

/** `folder/name` for a file a folder format's writer names (`variables/variables.index`); never outside the folder. */
function insideFolder(folder: string, name: string): string {
  const parts = name.split("/");
  if (name.includes("\\") || parts.some((p) => p === "" || p === "." || p === ".."))
    throw new WeightbridgeError("usage", `bad file name '${name}' inside the output folder`);
  return join(folder, ...parts);
}

/** A folder output through `openSink`: each file at `OUT/relative`, the main file committed last. */
async function writeFolderThrough(
  openSink: (path: string) => Promise<ByteSink>,
  checkpoint: Checkpoint,
  path: string,
  format: Format,
  options: WriteOptions,
): Promise<string[]> {
  const out = path.replace(/[\\/]+$/, "");
  const warnings: string[] = [];
  const pending: ByteSink[] = [];
  const open = async (name: string) => {
    const sink = await openSink(insideFolder(out, name));
    pending.push(sink);
    return sink;
  };
  try {
    const main = await open(format.writesFolder!.mainFile);
    await format.write!(checkpoint, main, { ...writerOptions(options, warnings), siblingSink: open });
    for (const sink of [...pending.slice(1), main]) await sink.commit();
  } catch (e) {
    for (const sink of pending) await sink.abort().catch(() => {});
    if (e instanceof WeightbridgeError) throw e.at({ file: out });
    throw e;
  }
  return warnings;
}

/** Where a writer's side file `name` (ONNX external data) goes: beside `target`, never elsewhere. */
export function sideFilePath(target: string, name: string): string {
  if (name.includes("/") || name.includes("\\") || name === "..") throw new WeightbridgeError("usage", `bad side file name '${name}'`);
  return join(dirname(target), name);
}

/** A source over a written but uncommitted file whose side files resolve to their temporaries. */
export async function pendingSource(path: string, pending: readonly ByteSink[]): Promise<ByteSource> {
  const temporaries = new Map(pending.filter((p) => p.temporaryPath).map((p) => [resolve(p.name), p.temporaryPath!]));
  const open = async (name: string): Promise<ByteSource> => {
    const temporary = temporaries.get(resolve(name));
    if (!temporary) return fileSource(name);
    const source = await fileSource(temporary);
    const sibling = async (relative: string) => {
      const next = join(dirname(name), relative);
      return temporaries.has(resolve(next)) ? open(next) : source.sibling!(relative);
    };
    return { ...source, name, sibling };
  };
  return open(path);
}

/** Writes a checkpoint into memory (single-file formats only). */
export async function writeBytes(checkpoint: Checkpoint, format: FormatId, options: Omit<WriteOptions, "format" | "force"> = {}): Promise<Uint8Array> {
  const chosen = formatById(format);
  if (!chosen.write) throw new WeightbridgeError("unsupported", `weightbridge cannot write ${chosen.name} files`);
  const sink = new MemorySink(`<${format}>`);
  await chosen.write(checkpoint, sink, writerOptions({ ...options, framework: options.framework ?? frameworkOfFormat(checkpoint.format) }, []));
  return sink.bytes();
}

/** The framework a checkpoint read from `formatId` follows. */
export function frameworkOfFormat(formatId: string | undefined): Framework | undefined {
  return knownFormat(formatId)?.framework;
}

function writerOptions(options: Omit<WriteOptions, "format" | "force">, warnings: string[]): FormatWriteOptions {
  const out: FormatWriteOptions = { warn: (m) => warnings.push(m), formatOptions: groupedFormatOptions(options) };
  if (options.framework) out.framework = options.framework;
  if (options.template) out.template = options.template;
  if (options.templateSource) out.templateSource = options.templateSource;
  if (options.strict !== undefined) out.strict = options.strict;
  if (options.keepTemplateValues) out.keepTemplateValues = true;
  if (options.allowDrop) out.allowDrop = true;
  return out;
}
