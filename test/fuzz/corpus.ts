import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileSource } from "../../src/io/source.js";
import { detectFormat } from "../../src/formats/index.js";
import { FORMATS } from "../../src/formats/index.js";
import type { FormatId } from "../../src/formats/types.js";
import { FIXTURES } from "../helpers/fixtures.js";

/** Where seed files are looked for: every readable model file below these joins the corpus. */
export const SEED_ROOTS = [FIXTURES];

export interface Seed {
  /** Stable id: path relative to its root, prefixed with the root's name. */
  id: string;
  path: string;
  format: FormatId;
  size: number;
  /** Files beside it that it may open (same stem): `inference.pdiparams` for `inference.pdmodel`. */
  siblings: string[];
}

function walk(folder: string): string[] {
  let names: string[];
  try {
    names = readdirSync(folder, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return names.map((n) => join(folder, n)).filter((p) => statSync(p).isFile());
}

function stemOf(path: string): string {
  return basename(path).split(".")[0]!;
}

/**
 * Every file under the seed roots that weightbridge detects as a readable format, up to
 * `maxBytes` (big seeds make every case slow). A new format's fixtures join automatically.
 */
export async function findSeeds(maxBytes: number): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const seenContent = new Set<string>();
  for (const root of SEED_ROOTS) {
    for (const path of walk(root).sort()) {
      const size = statSync(path).size;
      if (size === 0 || size > maxBytes || /\.(json|py|md|txt|proto)$/i.test(path)) continue;
      const source = await fileSource(path);
      let format: FormatId | undefined;
      try {
        const detected = (await detectFormat(source)).format;
        if (detected.read) format = detected.id;
      } catch {
        // not a model file (side files, configs): only used as siblings
      } finally {
        await source.close();
      }
      if (!format) continue;
      // A file committed twice (same name and size) is one seed.
      const key = `${basename(path)}:${size}`;
      if (seenContent.has(key)) continue;
      seenContent.add(key);
      const stem = stemOf(path);
      const siblings = walk(dirname(path)).filter(
        (p) => p !== path && dirname(p) === dirname(path) && basename(p).startsWith(`${stem}.`) && !/\.(json|py|md)$/i.test(p),
      );
      seeds.push({ id: `${basename(root)}/${relative(root, path)}`, path, format, size, siblings });
    }
  }
  return seeds;
}

/** Ids of the registered formats that can be read: the corpus must cover each of them. */
export function readableFormats(): FormatId[] {
  return FORMATS.filter((f) => f.read).map((f) => f.id);
}
