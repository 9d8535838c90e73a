import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { WeightbridgeError } from "../errors.js";
import { UsageError } from "./output.js";

/**
 * `-` names standard input (as an input) or standard output (as OUT). yargs' parser reads a bare
 * `-` as an empty flag, so main() swaps it for this token before parsing.
 */
export const STDIO = "\u0000-";

export function markStdio(argv: string[]): string[] {
  return argv.map((a) => (a === "-" ? STDIO : a));
}

const STDIN_LABEL = "<stdin>";

/**
 * Runs `work` with a real file path for `-`: standard input is spooled to a temporary file first
 * (readers need positioned reads; a pipe has none), so memory stays bounded for any size.
 */
export async function withStdinAsFile<T>(inputs: string[], work: (paths: string[]) => Promise<T>): Promise<T> {
  const dashes = inputs.filter((p) => p === STDIO).length;
  if (dashes === 0) return work(inputs);
  if (dashes > 1) throw new UsageError("standard input ('-') can be read only once");
  if (process.stdin.isTTY) throw new UsageError("'-' reads the model from standard input: pipe a file in (weightbridge inspect - < model.pt)");
  const folder = await mkdtemp(join(tmpdir(), "weightbridge-stdin-"));
  const spooled = join(folder, "stdin");
  try {
    await pipeline(process.stdin, createWriteStream(spooled));
    return await work(inputs.map((p) => (p === STDIO ? spooled : p)));
  } catch (e) {
    throw relabel(e, spooled, STDIN_LABEL);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Runs `work` with a temporary OUT when OUT is `-`, then copies the finished file to standard
 * output: the conversion stays atomic (nothing reaches stdout unless it completed).
 */
export async function withStdoutAsFile<T>(out: string, extension: string, work: (path: string) => Promise<T>): Promise<T> {
  if (out !== STDIO) return work(out);
  if (process.stdout.isTTY) throw new UsageError("OUT '-' writes the model to standard output: redirect it to a file or a pipe");
  const folder = await mkdtemp(join(tmpdir(), "weightbridge-stdout-"));
  const staged = join(folder, `stdout${extension}`);
  try {
    const result = await work(staged);
    // A writer may add side files on its own (ONNX past protobuf's 2 GiB): a pipe holds one file.
    const written = await readdir(folder, { withFileTypes: true });
    if (written.length !== 1 || !written[0]!.isFile()) throw severalFiles(`it wrote ${written.length === 1 ? "a folder" : `${written.length} files`}`);
    await pipeline(createReadStream(staged), process.stdout, { end: false });
    return result;
  } catch (e) {
    throw relabel(e, staged, "<stdout>");
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** OUT '-' with an output that is more than one file (shards, an index and data file, a folder). */
export function severalFiles(why: string): UsageError {
  return new UsageError(`OUT '-' (standard output) holds one file, but this output is several (${why}): give an output path instead`);
}

/** A closed pipe on standard output (`| head -c 10`): the reader is done, not an error to report. */
export function isBrokenPipe(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "EPIPE";
}

function relabel(e: unknown, path: string, label: string): unknown {
  if (e instanceof WeightbridgeError && e.location.file?.startsWith(path)) {
    (e.location as { file?: string }).file = label + e.location.file.slice(path.length);
  }
  return e;
}
