import type { JsonObject } from "../../tensor/checkpoint.js";
import type { LayerHint } from "../../tensor/tensor.js";
import { ggufMetaOf } from "./metadata-write.js";

/*
 * What a Hugging Face config.json tells a conversion to GGUF (hf2gguf): the GGUF architecture
 * and the keys llama.cpp reads for it (convert_hf_to_gguf's names), and, as layer hints on the
 * transformers tensors, the head counts of the Q/K projections (whose rows llama.cpp's converter
 * permutes for llama and mistral only) and the architecture (gemma's norms are stored as 1 + w).
 * A safetensors written by gguf2hf carries meta.gguf instead, which gives the same facts.
 */

/** transformers model_type → GGUF general.architecture. */
const ARCHITECTURES: Readonly<Record<string, string>> = {
  llama: "llama",
  mistral: "llama",
  qwen2: "qwen2",
  phi3: "phi3",
  gemma: "gemma",
  gemma2: "gemma2",
  gemma3: "gemma3",
  gemma3_text: "gemma3",
};
/** Architectures whose Q/K rows convert_hf_to_gguf permutes (LlamaModel.permute). */
const PERMUTED = new Set(["llama"]);

/** config.json key → GGUF key (after `ARCH.`), and its GGUF type. */
const KEYS: ReadonlyArray<[string, string, "uint32" | "float32"]> = [
  ["max_position_embeddings", "context_length", "uint32"],
  ["hidden_size", "embedding_length", "uint32"],
  ["num_hidden_layers", "block_count", "uint32"],
  ["intermediate_size", "feed_forward_length", "uint32"],
  ["num_attention_heads", "attention.head_count", "uint32"],
  ["num_key_value_heads", "attention.head_count_kv", "uint32"],
  ["rope_theta", "rope.freq_base", "float32"],
  ["rms_norm_eps", "attention.layer_norm_rms_epsilon", "float32"],
  ["vocab_size", "vocab_size", "uint32"],
  ["head_dim", "attention.key_length", "uint32"],
  ["head_dim", "attention.value_length", "uint32"],
];

export interface GgufModelFacts {
  architecture: string;
  /** The GGUF keys the config gives (empty when the facts come from meta.gguf, which has them all). */
  metadata: JsonObject;
  types: Record<string, string>;
  heads?: number;
  kvHeads?: number;
}

/** The facts of a config.json, or undefined for a model_type that has no GGUF architecture here. */
export function ggufFactsOfHfConfig(config: JsonObject): GgufModelFacts | undefined {
  const architecture = typeof config.model_type === "string" ? ARCHITECTURES[config.model_type] : undefined;
  if (!architecture) return undefined;
  const metadata: JsonObject = { "general.architecture": architecture };
  const types: Record<string, string> = { "general.architecture": "string" };
  for (const [from, to, type] of KEYS) {
    const value = config[from];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    metadata[`${architecture}.${to}`] = value;
    types[`${architecture}.${to}`] = type;
  }
  const heads = typeof config.num_attention_heads === "number" ? config.num_attention_heads : undefined;
  const kvHeads = typeof config.num_key_value_heads === "number" ? config.num_key_value_heads : heads;
  const headDim =
    typeof config.head_dim === "number" ? config.head_dim : heads && typeof config.hidden_size === "number" ? config.hidden_size / heads : undefined;
  if (headDim !== undefined && Number.isInteger(headDim)) {
    metadata[`${architecture}.rope.dimension_count`] = headDim;
    types[`${architecture}.rope.dimension_count`] = "uint32";
  }
  return { architecture, metadata, types, heads, kvHeads };
}

/** The same facts from a checkpoint's meta.gguf (a safetensors gguf2hf wrote). */
export function ggufFactsOfMeta(meta: JsonObject): GgufModelFacts | undefined {
  const metadata = ggufMetaOf(meta)?.metadata;
  const architecture = metadata?.["general.architecture"];
  if (typeof architecture !== "string") return undefined;
  const heads = metadata![`${architecture}.attention.head_count`];
  const kvHeads = metadata![`${architecture}.attention.head_count_kv`] ?? heads;
  return {
    architecture,
    metadata: {},
    types: {},
    heads: typeof heads === "number" ? heads : undefined,
    kvHeads: typeof kvHeads === "number" ? kvHeads : undefined,
  };
}

/**
 * The hint for a transformers tensor that hf2gguf's rules need: Q/K projections get `heads` (0
 * where llama.cpp does not permute), norms and projections the architecture.
 */
export function hfLayerHint(name: string, facts: GgufModelFacts): LayerHint | undefined {
  const projection = /\.self_attn\.(q|k)_proj\.(weight|bias)$/.exec(name);
  if (projection) {
    const count = projection[1] === "q" ? facts.heads : facts.kvHeads;
    const attributes: Record<string, unknown> = { architecture: facts.architecture };
    if (!PERMUTED.has(facts.architecture)) attributes.heads = 0;
    else if (count !== undefined) attributes.heads = count;
    return { kind: "linear", attributes };
  }
  if (/(norm|layernorm)\.weight$/.test(name)) return { kind: "rmsnorm", attributes: { architecture: facts.architecture } };
  return undefined;
}
