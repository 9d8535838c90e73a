import type { JsonObject } from "../../tensor/checkpoint.js";
import { ggufMetaOf } from "./metadata-write.js";

/*
 * A GGUF's metadata travels into other formats under meta.gguf (safetensors keeps it in its
 * header), so that hf2gguf can rebuild the file. A vocabulary does not belong there: a 150k-token
 * model's tokens, scores, token types and merges are megabytes of JSON that every loader parses on
 * each open, the Hub's safetensors metadata reader refuses headers above 25 MB and the safetensors
 * library above 100 MB, and transformers keeps its tokenizer in files of its own. So past a budget
 * the long arrays are left out, named in meta.gguf.omitted (key → length) and in a warning; the
 * GGUF itself, given as --template, supplies them again.
 */

/** meta.gguf up to this many bytes of JSON travels whole. */
export const FOREIGN_META_BUDGET = 1 << 20;
/** Past the budget, arrays longer than this are left out. */
const LONG_ARRAY = 1024;

export function ggufMetaForOtherFormats(meta: JsonObject, output: string): { meta: JsonObject; notes: string[] } {
  const gguf = ggufMetaOf(meta);
  if (!gguf || JSON.stringify(meta.gguf).length <= FOREIGN_META_BUDGET) return { meta, notes: [] };
  const metadata: JsonObject = {};
  const types: Record<string, string> = {};
  const omitted: Record<string, number> = {};
  for (const [key, value] of Object.entries(gguf.metadata)) {
    if (Array.isArray(value) && value.length > LONG_ARRAY) omitted[key] = value.length;
    else {
      metadata[key] = value;
      if (key in gguf.types) types[key] = gguf.types[key]!;
    }
  }
  const keys = Object.keys(omitted);
  if (keys.length === 0) return { meta, notes: [] };
  const note =
    `GGUF metadata left out of ${output} (too big for its header; meta.gguf.omitted names them): ` +
    `${keys.map((k) => `${k} (${omitted[k]} values)`).join(", ")}; converting back to GGUF, give the original file as --template to restore them`;
  return { meta: { ...meta, gguf: { ...(meta.gguf as JsonObject), metadata, types, omitted } }, notes: [note] };
}
