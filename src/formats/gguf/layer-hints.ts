import type { JsonObject } from "../../tensor/checkpoint.js";
import type { LayerHint } from "../../tensor/tensor.js";

/**
 * What a GGUF file says about the layers that mapping rules need (src/mapping/presets/gguf2hf.json):
 * the architecture, and the head count of the attention projections whose rows llama.cpp's
 * converter permuted for its rotary embedding (LlamaModel.permute), so they can be put back.
 */
export function ggufLayerHint(name: string, metadata: JsonObject): LayerHint | undefined {
  const architecture = metadata["general.architecture"];
  if (typeof architecture !== "string") return undefined;
  const block = /^blk\.(\d+)\.(attn_q|attn_k|[a-z_]*norm)\.(weight|bias)$/.exec(name);
  const path = block ? `blk.${block[1]}.${block[2]}` : /^(output_norm)\.weight$/.exec(name)?.[1];
  if (path === undefined) return undefined;
  const attributes: Record<string, unknown> = { architecture };
  const heads = metadata[`${architecture}.attention.head_count`];
  const kvHeads = metadata[`${architecture}.attention.head_count_kv`] ?? heads;
  if (block?.[2] === "attn_q" && typeof heads === "number") attributes.heads = heads;
  if (block?.[2] === "attn_k" && typeof kvHeads === "number") attributes.heads = kvHeads;
  return { kind: block?.[2].startsWith("attn_") ? "linear" : "rmsnorm", path, attributes };
}
