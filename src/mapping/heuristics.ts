import type { Tensor } from "../tensor/tensor.js";
import { conventionOf, namingOf } from "../vocabulary/conventions.js";
import { looksKeras, splitName } from "./name-style.js";
import type { Convention, KindInfo } from "./types.js";

// Named guesses of a layer's kind from the names and shapes of its tensors, for sources that
// carry no layer hints (bare state_dicts). Every guess names itself in the report.

type Params = Map<string, Tensor>;

function guess(kind: string, heuristic: string): KindInfo {
  return { kind, evidence: "heuristic", heuristic, attributes: {} };
}

const RNN_KINDS: Record<number, string> = { 4: "lstm", 3: "gru", 1: "rnn" };

function gateKind(rows: number, cols: number): string | undefined {
  return cols > 0 && rows % cols === 0 ? RNN_KINDS[rows / cols] : undefined;
}

/** PyTorch, Paddle (and ONNX without hints): dotted module paths, `weight`/`bias` parameters. */
function dotted(module: string, params: Params, inOut: boolean): Map<string, KindInfo> {
  const out = new Map<string, KindInfo>();
  const all = (info: KindInfo) => {
    for (const t of params.values()) out.set(t.name, info);
  };
  const hh = [...params.entries()].find(([p]) => /^weight_hh(_l\d+(_reverse)?)?$/.test(p))?.[1];
  if (hh && hh.shape.length === 2) {
    const kind = gateKind(hh.shape[0]!, hh.shape[1]!);
    if (kind) all(guess(kind, `weight_hh rows = ${hh.shape[0]! / hh.shape[1]!}×hidden ⇒ ${kind}`));
    return out;
  }
  if (params.has("in_proj_weight")) {
    all(guess("mha", "in_proj_weight ⇒ multi-head attention"));
    return out;
  }
  if (params.has("running_mean") || params.has("running_var") || params.has("_mean") || params.has("_variance")) {
    all(guess("batchnorm", "running statistics ⇒ batchnorm"));
    return out;
  }
  const weight = params.get("weight");
  if (!weight) return out;
  const bias = params.get("bias");
  const rank = weight.shape.length;
  const last = module.split(".").pop() ?? "";
  if (rank >= 3 && rank <= 5) {
    if (rank === 4 && weight.shape[1] === 1 && /depthwise/i.test(last)) {
      all(guess("depthwise_conv2d", "4-D weight [C·m,1,kh,kw] in a module named *depthwise* ⇒ depthwise conv2d"));
    } else all(guess(`conv${rank - 2}d`, `${rank}-D weight ⇒ conv${rank - 2}d`));
  } else if (rank === 2) {
    if (bias && bias.shape.length === 1) {
      const outDim = inOut ? weight.shape[1] : weight.shape[0];
      if (bias.shape[0] === outDim) {
        all(guess("linear", inOut ? "2-D weight + bias of its last dim ⇒ linear (Paddle [in,out])" : "2-D weight + bias of its first dim ⇒ linear"));
      }
    } else if (/emb|wte|wpe|token|position|vocab/i.test(last)) {
      all(guess("embedding", "2-D weight without bias in a module named like an embedding ⇒ embedding"));
    } else {
      all(guess("linear", "2-D weight without bias ⇒ linear (bias=False)"));
    }
  } else if (rank === 1) {
    if (bias && bias.shape.length === 1 && bias.shape[0] === weight.shape[0]) {
      all(guess("layernorm", "1-D weight + bias of the same size ⇒ layernorm-style affine"));
    } else if (!bias && /prelu|act/i.test(last)) {
      all(guess("prelu", "1-D weight without bias in a module named *prelu*/*act* ⇒ prelu"));
    } else if (!bias && /norm|ln/i.test(last)) {
      all(guess("layernorm", "1-D weight without bias in a module named *norm* ⇒ norm scale"));
    }
  }
  return out;
}

/** Keras legacy names: `layer/kernel:0`, `layer/lstm_cell/recurrent_kernel:0` ... */
function keras(params: Params): Map<string, KindInfo> {
  const out = new Map<string, KindInfo>();
  const all = (info: KindInfo) => {
    for (const t of params.values()) out.set(t.name, info);
  };
  const rk = params.get("recurrent_kernel");
  if (rk && rk.shape.length === 2) {
    const kind = gateKind(rk.shape[1]!, rk.shape[0]!);
    if (kind) all(guess(kind, `recurrent_kernel [u, ${rk.shape[1]! / rk.shape[0]!}u] ⇒ ${kind}`));
    return out;
  }
  if (params.has("depthwise_kernel") && params.has("pointwise_kernel")) all(guess("separable_conv2d", "depthwise_kernel + pointwise_kernel ⇒ separable conv"));
  else if (params.has("depthwise_kernel")) all(guess("depthwise_conv2d", "depthwise_kernel ⇒ depthwise conv"));
  else if (params.has("moving_mean") || params.has("moving_variance")) all(guess("batchnorm", "moving statistics ⇒ batchnorm"));
  else if (params.has("gamma") || params.has("beta")) all(guess("layernorm", "gamma/beta without moving statistics ⇒ layernorm"));
  else if (params.has("embeddings")) all(guess("embedding", "embeddings ⇒ embedding"));
  else if (params.has("alpha")) all(guess("prelu", "alpha ⇒ prelu"));
  else {
    const kernel = params.get("kernel");
    const rank = kernel?.shape.length ?? 0;
    if (rank === 2) all(guess("linear", "2-D kernel ⇒ dense"));
    else if (rank >= 3 && rank <= 5) all(guess(`conv${rank - 2}d`, `${rank}-D kernel ⇒ conv${rank - 2}d`));
  }
  return out;
}

/** MultiHeadAttention's EinsumDense sublayers, by their Keras 2 names. */
const ATTENTION_PARTS = ["query", "key", "value", "attention_output"] as const;

/**
 * A Keras MultiHeadAttention saved without its config: four sublayers named query, key, value and
 * attention_output under one layer, each with a 3-D kernel. Each alone looks like a Conv1D (its
 * kernel is 3-D), which would lay out out_proj as a convolution.
 */
function kerasAttention(modules: ReadonlyMap<string, Params>): Map<string, KindInfo> {
  const out = new Map<string, KindInfo>();
  for (const module of modules.keys()) {
    const m = /^(.*)\/query$/.exec(module);
    if (!m) continue;
    const parts = ATTENTION_PARTS.map((p) => modules.get(`${m[1]}/${p}`));
    if (!parts.every((p) => p?.get("kernel")?.shape.length === 3)) continue;
    const info = guess("mha", "query/key/value/attention_output sublayers with 3-D kernels ⇒ multi-head attention");
    for (const p of parts) for (const t of p!.values()) out.set(t.name, info);
  }
  return out;
}

/** Heuristic kinds for the tensors of one checkpoint in the given (or guessed) convention. */
export function inferByHeuristics(tensors: readonly Tensor[], convention: Convention | undefined): Map<string, KindInfo> {
  const modules = new Map<string, Params>();
  for (const t of tensors) {
    const { module, param } = splitName(t.name);
    let params = modules.get(module);
    if (!params) modules.set(module, (params = new Map()));
    params.set(param, t);
  }
  const out = new Map<string, KindInfo>();
  for (const [module, params] of modules) {
    const first = params.values().next().value!;
    const isKeras = namingOf(convention) === "keras-path" || (convention === undefined && looksKeras(first.name));
    const found = isKeras ? keras(params) : dotted(module, params, conventionOf(convention)?.linearWeight === "in-out");
    for (const [name, info] of found) out.set(name, info);
  }
  if (namingOf(convention) === "keras-path" || (convention === undefined && tensors.some((t) => looksKeras(t.name)))) {
    for (const [name, info] of kerasAttention(modules)) out.set(name, info);
  }
  return out;
}
