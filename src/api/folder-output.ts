import { lstat, realpath, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { trackAside, trackTemporary, untrackAside, untrackTemporary } from "../io/temporaries.js";
import { WeightbridgeError } from "../errors.js";
import type { Format } from "../formats/types.js";

/** OUT without trailing separators (`saved_model/` → `saved_model`). */
export function folderOutputPath(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  return trimmed === "" && path !== "" ? sep : trimmed;
}

/**
 * Whether a folder output may be written at `out`, checked before any work and again just
 * before the swap: `.`, `..`, `/`, a folder holding the working directory or an input, a
 * symlink and a folder that is not an earlier output of this format are never replaced, and an
 * existing output needs `force`.
 */
export async function checkFolderOutput(
  path: string,
  format: Format,
  options: { force?: boolean; inputs?: readonly (string | undefined)[] } = {},
): Promise<void> {
  const out = folderOutputPath(path);
  const name = basename(out);
  if (name === "" || name === "." || name === "..") {
    throw new WeightbridgeError("usage", `'${path}' names a folder by its relation to another (., .., /), not a new output: give the output folder a name`, {
      file: path,
    });
  }
  const entry = await lstat(out).catch(() => undefined);
  if (!entry) return;
  if (entry.isSymbolicLink())
    throw new WeightbridgeError("io", "is a symbolic link: weightbridge will not replace it (give the path it points to)", { file: out });
  if (!entry.isDirectory()) throw new WeightbridgeError("io", "exists and is not a folder: weightbridge will not replace it", { file: out });
  const real = await realpath(out).catch(() => undefined);
  // Gone meanwhile (another process is swapping it): nothing to replace.
  if (real === undefined) return;
  const holds = async (inner: string | undefined): Promise<boolean> => {
    if (inner === undefined) return false;
    const target = await realpath(inner).catch(() => resolve(inner));
    return target === real || target.startsWith(real.endsWith(sep) ? real : real + sep);
  };
  if (await holds(process.cwd())) throw new WeightbridgeError("usage", "is the working folder or holds it: weightbridge will not replace it", { file: out });
  for (const input of options.inputs ?? []) {
    if (await holds(input)) throw new WeightbridgeError("usage", `holds the input ${input}: write the output to another folder`, { file: out });
  }
  if (!(await isOutputOf(out, format))) {
    const now = await lstat(out).catch(() => undefined);
    // Gone, or another writer swapped in a folder of its own while we looked: judge that one.
    if (!now) return;
    if (now.ino !== entry.ino || now.dev !== entry.dev) return checkFolderOutput(path, format, options);
    const shape = [format.writesFolder!.mainFile, ...(format.writesFolder!.folders ?? []).map((f) => `${f}/`)].join(" + ");
    throw new WeightbridgeError(
      "io",
      `exists and is not a ${format.name} (${shape}): weightbridge replaces only its own kind of output folder; choose another name`,
      { file: out },
    );
  }
  if (!options.force) throw new WeightbridgeError("exists", "output already exists (use --force to replace it)", { file: out });
}

/** A folder holding the format's main file and subfolders, none of them a symlink. */
async function isOutputOf(folder: string, format: Format): Promise<boolean> {
  const layout = format.writesFolder!;
  const main = await lstat(join(folder, layout.mainFile)).catch(() => undefined);
  if (!main?.isFile()) return false;
  for (const sub of layout.folders ?? []) {
    if (!(await lstat(join(folder, sub)).catch(() => undefined))?.isDirectory()) return false;
  }
  return true;
}

const isRace = (e: unknown) => ["ENOTEMPTY", "EEXIST", "ENOTDIR", "EISDIR"].includes((e as NodeJS.ErrnoException).code ?? "");

/**
 * Puts the complete folder `temp` at `out`. An existing output is renamed aside first, the new
 * one renamed in, then the old one removed: the name holds a whole old or a whole new output
 * (a signal between the two renames puts the old one back: io/temporaries).
 */
export async function replaceFolder(temp: string, path: string, format: Format, force: boolean | undefined): Promise<void> {
  const out = folderOutputPath(path);
  await checkFolderOutput(out, format, { force });
  const appeared = () => new WeightbridgeError("exists", "output appeared while converting (another process wrote it); nothing replaced", { file: out });
  const aside = join(dirname(out), `.${basename(out)}.wb-old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const moved = await moveAside(out, aside);
  try {
    await rename(temp, out);
  } catch (e) {
    // Another process's output took the name meanwhile: it is whole, the old one goes.
    if (
      moved &&
      !(await rename(aside, out).then(
        () => true,
        () => false,
      ))
    )
      await rm(aside, { recursive: true, force: true }).catch(() => {});
    untrackAside(aside);
    if (isRace(e)) throw appeared();
    throw e;
  }
  if (!moved) return;
  // From here the old output is a temporary of ours: a signal during its removal finishes it.
  trackTemporary(aside);
  untrackAside(aside);
  await rm(aside, { recursive: true, force: true });
  untrackTemporary(aside);
}

/** Renames an existing `out` to `aside` (tracked for signals); false when there is none (or it went meanwhile). */
async function moveAside(out: string, aside: string): Promise<boolean> {
  if (!(await lstat(out).catch(() => undefined))) return false;
  trackAside(aside, out);
  try {
    await rename(out, aside);
    return true;
  } catch (e) {
    untrackAside(aside);
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}
