import type { ByteSource } from "../io/source.js";
import { looksLikeZip, openZip } from "../io/zip.js";
import { WeightbridgeError } from "../errors.js";
import { FORMATS } from "./index.js";
import type { Format, FormatId, SniffContext } from "./types.js";

const HEAD_BYTES = 64 << 10;

export function formatById(id: string): Format {
  const format = FORMATS.find((f) => f.id === id);
  if (!format) {
    throw new WeightbridgeError("usage", `unknown format '${id}' (known: ${FORMATS.map((f) => f.id).join(", ")})`);
  }
  return format;
}

/** The format a file name suggests for output: the longest matching extension wins. */
export function formatForOutputName(name: string): Format | undefined {
  const lower = name.toLowerCase();
  let best: { format: Format; length: number } | undefined;
  for (const format of FORMATS) {
    if (!format.write) continue;
    for (const ext of format.extensions) {
      if (lower.endsWith(ext) && (!best || ext.length > best.length)) best = { format, length: ext.length };
    }
  }
  return best?.format;
}

/** Decides a source's format from its bytes (magic numbers and structure), not its name. */
export async function detectFormat(source: ByteSource): Promise<Format> {
  const head = await source.read(0, Math.min(source.size, HEAD_BYTES));
  let zipNames: Promise<string[] | undefined> | undefined;
  const context: SniffContext = {
    head,
    name: source.name,
    size: source.size,
    source,
    zipEntryNames() {
      zipNames ??= looksLikeZip(head)
        ? openZip(source).then(
            (zip) => zip.entries.map((e) => e.name),
            () => undefined,
          )
        : Promise.resolve(undefined);
      return zipNames;
    },
  };
  for (const format of FORMATS) {
    if (!format.read) continue;
    try {
      if (await format.sniff(context)) return format;
    } catch {
      // A sniffer that cannot make sense of the bytes simply says no.
    }
  }
  if (source.size === 0) throw new WeightbridgeError("bad-magic", "file is empty", { file: source.name });
  const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  if (looksLikeZip(head) && (await context.zipEntryNames()) === undefined) {
    throw new WeightbridgeError("truncated", `a damaged or incomplete zip archive (starts with ${hex}): if it was downloaded, the download may be incomplete`, { file: source.name });
  }
  const readable = FORMATS.filter((f) => f.read).map((f) => f.id).join(", ");
  throw new WeightbridgeError("bad-magic", `not a model file weightbridge can read (starts with ${hex}); it reads ${readable} (weightbridge formats)`, { file: source.name });
}

export function formatIds(): FormatId[] {
  return FORMATS.map((f) => f.id);
}

/**
 * The file to read for a path the user gave: the path itself, or the file a format finds in a
 * folder or behind a bare prefix (a SavedModel folder's saved_model.pb, `PREFIX` → `PREFIX.index`).
 */
export async function resolveInputPath(path: string): Promise<string> {
  for (const format of FORMATS) {
    const resolved = await format.resolvePath?.(path);
    if (resolved !== undefined) return resolved;
  }
  return path;
}
