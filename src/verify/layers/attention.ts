import { CONVENTIONS } from "../../vocabulary/conventions.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Param } from "../params.js";
import { NotCheckable } from "../params.js";
import { Disagreement, type LayerSide, type Reference, numberAttr, required, role } from "../reference.js";

// Multi-head self-attention (query = key = value = x), softmax(QKᵀ/√d)·V per head, then the output projection:
//   PyTorch nn.MultiheadAttention: in_proj_weight [3E, E] (q; k; v rows), in_proj_bias [3E]
//                                  (or q_proj_weight/k_proj_weight/v_proj_weight [E, E]), out_proj.weight [E, E] ([out, in]);
//                                  head h uses features h·d … (h+1)·d of each projection.
//   Paddle nn.MultiHeadAttention:  q_proj/k_proj/v_proj/out_proj .weight [in, out], .bias
//   Keras MultiHeadAttention:      query/key/value kernel [E, heads, d] (EinsumDense), bias [heads, d];
//                                  attention_output kernel [heads, d, E], bias [E]
// The head count is not a weight: Keras' kernels show it; PyTorch and Paddle need it from the file
// (whole-model pickle) or `--layer 'attn=mha(num_heads=N)'`.

export interface AttentionPlan {
  embed: number;
  heads: number;
  headDim: number;
  length: number;
}

type Projection = "q" | "k" | "v";

interface Access<T> {
  /** Weight element (input feature e → head h, dim d) and bias (h, d) of projection p. */
  w(p: Projection, e: number, h: number, d: number): [T, number];
  b(p: Projection, h: number, d: number): [T, number] | undefined;
  out(h: number, d: number, o: number): [T, number];
  outBias(o: number): [T, number] | undefined;
}

const INDEX: Record<Projection, number> = { q: 0, k: 1, v: 2 };
const KERAS: Record<Projection, string> = { q: "query", k: "key", v: "value" };

/** The side keeps q/k/v kernels per head ([embed, heads, headDim]), so they state heads and head size. */
function perHead(side: LayerSide<unknown>): boolean {
  return CONVENTIONS[side.framework].attentionKernelsPerHead;
}

function headsOf(side: LayerSide<Tensor | Param>): number | undefined {
  if (perHead(side)) return role(side, "query/kernel")?.shape[1];
  return numberAttr(side.attributes, "num_heads", "numHeads");
}

function embedOf(side: LayerSide<Tensor | Param>): number {
  const f = side.framework;
  const t =
    f === "keras"
      ? required(side, "query kernel", "query/kernel")
      : f === "paddle"
        ? required(side, "q_proj weight", "q_proj.weight")
        : (role(side, "in_proj_weight") ?? required(side, "q projection", "q_proj_weight"));
  return t.shape[f === "pytorch" ? 1 : 0]!;
}

function access<T extends Tensor | Param>(side: LayerSide<T>, plan: AttentionPlan): Access<T> {
  const { embed: E, headDim: D, heads } = plan;
  const f = side.framework;
  if (f === "keras") {
    const k = (p: Projection) => required(side, `${KERAS[p]} kernel`, `${KERAS[p]}/kernel`);
    const out = required(side, "attention_output kernel", "attention_output/kernel");
    for (const p of ["q", "k", "v"] as Projection[]) {
      if (k(p).shape.join() !== `${E},${heads},${D}`) throw new Disagreement(`${KERAS[p]}/kernel is [${k(p).shape.join(",")}], expected [${E},${heads},${D}]`);
    }
    if (out.shape.join() !== `${heads},${D},${E}`) throw new Disagreement(`attention_output/kernel is [${out.shape.join(",")}], expected [${heads},${D},${E}]`);
    const ob = role(side, "attention_output/bias");
    return {
      w: (p, e, h, d) => [k(p), (e * heads + h) * D + d],
      b: (p, h, d) => {
        const t = role(side, `${KERAS[p]}/bias`);
        return t ? [t, h * D + d] : undefined;
      },
      out: (h, d, o) => [out, (h * D + d) * E + o],
      outBias: (o) => (ob ? [ob, o] : undefined),
    };
  }
  if (f === "paddle") {
    const w = (p: Projection) => required(side, `${p}_proj weight`, `${p}_proj.weight`);
    const out = required(side, "out_proj weight", "out_proj.weight");
    for (const t of [w("q"), w("k"), w("v"), out])
      if (t.shape.join() !== `${E},${E}`) throw new Disagreement(`${t.name} is [${t.shape.join(",")}], expected [${E},${E}]`);
    const ob = role(side, "out_proj.bias");
    return {
      w: (p, e, h, d) => [w(p), e * E + h * D + d],
      b: (p, h, d) => {
        const t = role(side, `${p}_proj.bias`);
        return t ? [t, h * D + d] : undefined;
      },
      out: (h, d, o) => [out, (h * D + d) * E + o],
      outBias: (o) => (ob ? [ob, o] : undefined),
    };
  }
  if (f !== "pytorch") throw new NotCheckable(`no ${f} reference for multi-head attention`);
  if (role(side, "bias_k") || role(side, "bias_v")) throw new NotCheckable("add_bias_kv attention has no reference here");
  const packed = role(side, "in_proj_weight");
  if (packed && packed.shape.join() !== `${3 * E},${E}`) throw new Disagreement(`in_proj_weight is [${packed.shape.join(",")}], expected [${3 * E},${E}]`);
  const separate = (p: Projection) => required(side, `${p}_proj_weight`, `${p}_proj_weight`);
  const bias = role(side, "in_proj_bias");
  const out = required(side, "out_proj.weight", "out_proj.weight");
  if (out.shape.join() !== `${E},${E}`) throw new Disagreement(`out_proj.weight is [${out.shape.join(",")}], expected [${E},${E}]`);
  const ob = role(side, "out_proj.bias");
  return {
    w: (p, e, h, d) => (packed ? [packed, (INDEX[p] * E + h * D + d) * E + e] : [separate(p), (h * D + d) * E + e]),
    b: (p, h, d) => (bias ? [bias, INDEX[p] * E + h * D + d] : undefined),
    out: (h, d, o) => [out, o * E + h * D + d],
    outBias: (o) => (ob ? [ob, o] : undefined),
  };
}

export const attention: Reference<AttentionPlan> = {
  kinds: ["mha"],
  plan(source, target) {
    const heads = headsOf(source) ?? headsOf(target);
    if (!heads) throw new NotCheckable("the number of heads is in neither file: pass --layer 'NAME=mha(num_heads=N)'");
    const embed = embedOf(source);
    if (embedOf(target) !== embed) throw new Disagreement(`source attends over ${embed} features, the converted layer over ${embedOf(target)}`);
    const headed = perHead(source) ? source : perHead(target) ? target : undefined;
    const headDim = headed ? required(headed, "query kernel", "query/kernel").shape[2]! : embed / heads;
    if (!Number.isInteger(headDim) || (!perHead(source) && heads * headDim !== embed) || (!perHead(target) && heads * headDim !== embed)) {
      throw new Disagreement(`${heads} heads of ${headDim} do not make ${embed} features`);
    }
    const plan = { embed, heads, headDim, length: 3 };
    access(source, plan);
    access(target, plan);
    return plan;
  },
  input(plan, random) {
    const x = new Float64Array(plan.length * plan.embed);
    for (let i = 0; i < x.length; i++) x[i] = random() * 2 - 1;
    return x;
  },
  forward(side, plan, x) {
    const a = access(side as LayerSide<Param>, plan) as Access<Param>;
    const { embed: E, heads: Hn, headDim: D, length: L } = plan;
    const get = (r: [Param, number] | undefined) => (r ? r[0].at(r[1]) : 0);
    const project = (p: Projection) => {
      const out = new Float64Array(L * Hn * D);
      for (let l = 0; l < L; l++)
        for (let h = 0; h < Hn; h++)
          for (let d = 0; d < D; d++) {
            let acc = get(a.b(p, h, d));
            for (let e = 0; e < E; e++) acc += x[l * E + e]! * get(a.w(p, e, h, d));
            out[(l * Hn + h) * D + d] = acc;
          }
      return out;
    };
    const q = project("q");
    const k = project("k");
    const v = project("v");
    const ctx = new Float64Array(L * Hn * D);
    const scale = 1 / Math.sqrt(D);
    for (let h = 0; h < Hn; h++)
      for (let l = 0; l < L; l++) {
        const s = new Float64Array(L);
        for (let m = 0; m < L; m++) {
          let acc = 0;
          for (let d = 0; d < D; d++) acc += q[(l * Hn + h) * D + d]! * k[(m * Hn + h) * D + d]!;
          s[m] = acc * scale;
        }
        const top = Math.max(...s);
        let sum = 0;
        for (let m = 0; m < L; m++) sum += s[m] = Math.exp(s[m]! - top);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let m = 0; m < L; m++) acc += (s[m]! / sum) * v[(m * Hn + h) * D + d]!;
          ctx[(l * Hn + h) * D + d] = acc;
        }
      }
    const y = new Float64Array(L * E);
    for (let l = 0; l < L; l++)
      for (let o = 0; o < E; o++) {
        let acc = get(a.outBias(o));
        for (let h = 0; h < Hn; h++) for (let d = 0; d < D; d++) acc += ctx[(l * Hn + h) * D + d]! * get(a.out(h, d, o));
        y[l * E + o] = acc;
      }
    return y;
  },
  notes: (plan) => [`${plan.heads} heads of ${plan.headDim}`],
};
