import { existsSync } from "node:fs";
import { readGivenJson } from "./given-json.js";
import { dirname, join } from "node:path";
import { WeightbridgeError } from "../errors.js";
import type { Checkpoint, JsonObject } from "../tensor/checkpoint.js";
import type { HfConfigReader, HfModelFacts } from "../formats/types.js";

/**
 * A conversion to GGUF of a transformers checkpoint takes the model's facts from its Hugging Face
 * config.json: the one given (`--hf-config`), else the config.json beside the input, else the
 * meta.gguf a gguf2hf output carries. The tensors get layer hints (head counts, architecture; a
 * `--layer` override still wins) and the output's metadata the architecture keys the checkpoint
 * does not already hold. Returns what was used, for the report.
 */
export async function applyHfConfig(source: Checkpoint, input: unknown, given: string | undefined, reader: HfConfigReader): Promise<string | undefined> {
  const beside = typeof input === "string" ? join(dirname(input), "config.json") : undefined;
  const path = given ?? (beside && existsSync(beside) ? beside : undefined);
  let facts: HfModelFacts | undefined;
  if (path) {
    const config = await readConfig(path);
    facts = reader.ofConfig(config);
    if (!facts && given) {
      throw new WeightbridgeError(
        "usage",
        `--hf-config: model_type '${String(config.model_type)}' has no GGUF architecture here (llama, mistral, qwen2, phi3, gemma, gemma2, gemma3)`,
        {
          file: path,
        },
      );
    }
  }
  const used = facts ? path : undefined;
  facts ??= reader.ofMeta(source.meta);
  if (!facts) return undefined;
  const known = facts;
  source.tensors = source.tensors.map((t) => {
    const hint = t.layer ? undefined : reader.layerHint(t.name, known);
    return hint ? { ...t, layer: hint } : t;
  });
  if (Object.keys(known.metadata).length > 0) {
    const gguf = (source.meta.gguf ?? {}) as JsonObject;
    const metadata = { ...known.metadata, ...((gguf.metadata as JsonObject | undefined) ?? {}) };
    const types = { ...known.types, ...((gguf.types as JsonObject | undefined) ?? {}) };
    source.meta = { ...source.meta, gguf: { ...gguf, metadata, types } };
  }
  return used;
}

async function readConfig(path: string): Promise<JsonObject> {
  const parsed = await readGivenJson(path, (reason) => `cannot read ${path} as a Hugging Face config.json (${reason})`);
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new WeightbridgeError("usage", `${path} is not a Hugging Face config.json (not a JSON object)`, { file: path });
  return parsed as JsonObject;
}
