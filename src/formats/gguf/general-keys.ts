import type { Checkpoint, JsonObject } from "../../tensor/checkpoint.js";
import type { WriteOptions } from "../types.js";
import type { GgmlType } from "./ggml-types.js";
import { ggufMetaOf } from "./metadata-write.js";

/** llama.cpp's llama_ftype for the files weightbridge writes (general.file_type). */
const FILE_TYPES: Record<string, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K: 14, Q6_K: 18, BF16: 32 };
/** ggml's GGML_QNT_VERSION. */
const QUANTIZATION_VERSION = 2;

/** Keys llama.cpp reads before it can load a model of architecture `arch`. */
function neededKeys(arch: string | undefined): string[] {
  const keys = ["general.architecture", "tokenizer.ggml.model", "tokenizer.ggml.tokens"];
  if (arch) keys.push(...["context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count"].map((k) => `${arch}.${k}`));
  return keys;
}

/**
 * The output's metadata: a GGUF source's as it was (so GGUF → GGUF is byte-exact); else the
 * template's architecture, tokenizer and general keys; general.file_type and
 * general.quantization_version filled in for what is written. Warns naming the keys llama.cpp
 * needs that are still missing.
 */
export function completeMetadata(
  checkpoint: Checkpoint,
  options: WriteOptions,
  written: GgmlType[],
  quantize: GgmlType | undefined,
): { metadata: JsonObject; types: Record<string, string> } {
  const source = ggufMetaOf(checkpoint.meta);
  const template = ggufMetaOf(options.template?.meta);
  const metadata: JsonObject = { ...source?.metadata };
  const types: Record<string, string> = { ...source?.types };
  if (template) {
    const arch = (metadata["general.architecture"] ?? template.metadata["general.architecture"]) as string | undefined;
    for (const [key, value] of Object.entries(template.metadata)) {
      const wanted = key.startsWith("general.") || key.startsWith("tokenizer.") || (arch !== undefined && key.startsWith(`${arch}.`));
      if (!wanted || key in metadata || key === "general.file_type" || key === "general.quantization_version") continue;
      metadata[key] = value;
      if (template.types[key]) types[key] = template.types[key]!;
    }
  }
  const set = (key: string, value: number) => {
    metadata[key] = value;
    types[key] = "uint32";
  };
  if (quantize) {
    set("general.file_type", FILE_TYPES[quantize.name]!);
    set("general.quantization_version", QUANTIZATION_VERSION);
  } else if (!source) {
    const mostly = written.find((t) => t.name !== "F32")?.name ?? "F32";
    if (FILE_TYPES[mostly] !== undefined) set("general.file_type", FILE_TYPES[mostly]!);
    set("general.quantization_version", QUANTIZATION_VERSION);
  }
  const arch = typeof metadata["general.architecture"] === "string" ? metadata["general.architecture"] : undefined;
  const missing = neededKeys(arch).filter((k) => !(k in metadata));
  if (missing.length > 0) {
    options.warn?.(`the GGUF output lacks metadata llama.cpp needs to run it: ${missing.join(", ")} (give --template model.gguf of the same architecture)`);
  }
  return { metadata, types };
}
