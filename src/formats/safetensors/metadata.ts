import { isFlatStateDict, type Checkpoint } from "../../tensor/checkpoint.js";

/** Metadata keys weightbridge adds so meta and nesting survive a trip through safetensors. */
export const JSON_KEYS = "weightbridge.json_keys";
export const STRUCTURE_KEY = "weightbridge.structure";

/** safetensors `__metadata__` is a string map: strings go as they are, other JSON as text. */
export function encodeMetadata(checkpoint: Checkpoint): Record<string, string> {
  const out: Record<string, string> = {};
  const jsonKeys: string[] = [];
  for (const [key, value] of Object.entries(checkpoint.meta)) {
    if (typeof value === "string") out[key] = value;
    else {
      out[key] = JSON.stringify(value);
      jsonKeys.push(key);
    }
  }
  if (jsonKeys.length > 0) out[JSON_KEYS] = JSON.stringify(jsonKeys);
  if (checkpoint.structure && !isFlatStateDict(checkpoint.structure)) out[STRUCTURE_KEY] = JSON.stringify(checkpoint.structure);
  return out;
}
