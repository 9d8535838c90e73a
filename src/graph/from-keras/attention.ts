import { int, ints } from "../ir.js";
import { known, type KValue, type Lowering } from "./context.js";
import { registerLayers } from "./registry.js";

// MultiHeadAttention on [batch, steps, features] inputs, written out as ONNX MatMuls: each
// projection's kernel [features, heads, dim] used as [features, heads*dim], the query scaled by
// 1/sqrt(key_dim) before the dot product (Keras' order), softmax over the key steps, and the
// output projection [heads, value_dim, out]. Masks and other attention axes are refused.

function projection(lower: Lowering, x: KValue, role: string, heads: number, dim: number, useBias: boolean): string {
  const features = x.shape[2];
  const kernel = lower.weight(`${role}/kernel`, [known(features) ? features : undefined, heads, dim]);
  const flat = lower.op("Reshape", [lower.initializer(kernel), lower.constant("int64", [kernel.shape[0]!, heads * dim])]);
  let y = lower.op("MatMul", [x.name, flat]);
  if (useBias)
    y = lower.op("Add", [y, lower.op("Reshape", [lower.initializer(lower.weight(`${role}/bias`, [heads, dim])), lower.constant("int64", [heads * dim])])]);
  // [N, T, h*d] → [N, h, T, d]
  return lower.op("Transpose", [lower.op("Reshape", [y, lower.constant("int64", [0, 0, heads, dim])])], { perm: ints([0, 2, 1, 3]) });
}

registerLayers(["MultiHeadAttention"], (lower, xs) => {
  const c = lower.config;
  const call = lower.call;
  for (const option of ["attention_mask", "query_mask", "value_mask", "key_mask"]) if (call.keywordInputs[option]) lower.refuse(option, "is not implemented");
  if (call.keywords.use_causal_mask === true) lower.refuse("use_causal_mask=true");
  if (call.keywords.return_attention_scores === true) lower.refuse("return_attention_scores=true");
  if (c.attention_axes !== null && c.attention_axes !== undefined) lower.refuse(`attention_axes=${JSON.stringify(c.attention_axes)}`);
  if (c.output_shape !== null && c.output_shape !== undefined && typeof c.output_shape !== "number")
    lower.refuse(`output_shape=${JSON.stringify(c.output_shape)}`);
  const keywordValue = (name: string | undefined) => (name === undefined ? undefined : lower.values.get(name));
  const query = lower.toLast(xs[0]!);
  const value = lower.toLast(xs[1] ?? keywordValue(call.keywordInputs.value) ?? lower.refuse("value", "is missing"));
  const key = lower.toLast(xs[2] ?? keywordValue(call.keywordInputs.key) ?? value);
  for (const v of [query, value, key])
    if (v.shape.length !== 3) lower.refuse(`an input of rank ${v.shape.length}`, "(rank 3, [batch, steps, features], is implemented)");
  const heads = typeof c.num_heads === "number" ? c.num_heads : lower.refuse("num_heads", "is missing");
  const keyDim = typeof c.key_dim === "number" ? c.key_dim : lower.refuse("key_dim", "is missing");
  const valueDim = typeof c.value_dim === "number" ? c.value_dim : keyDim;
  const useBias = c.use_bias !== false;
  const q = lower.op("Mul", [projection(lower, query, "query", heads, keyDim, useBias), lower.scalar(1 / Math.sqrt(keyDim))]);
  const k = projection(lower, key, "key", heads, keyDim, useBias);
  const v = projection(lower, value, "value", heads, valueDim, useBias);
  const scores = lower.op("MatMul", [q, lower.op("Transpose", [k], { perm: ints([0, 1, 3, 2]) })]);
  const weights = lower.op("Softmax", [scores], { axis: int(-1) });
  const context = lower.op("Reshape", [
    lower.op("Transpose", [lower.op("MatMul", [weights, v])], { perm: ints([0, 2, 1, 3]) }),
    lower.constant("int64", [0, 0, heads * valueDim]),
  ]);
  const out = typeof c.output_shape === "number" ? c.output_shape : query.shape[2];
  const kernel = lower.weight("attention_output/kernel", [heads, valueDim, known(out) ? out : undefined]);
  const outFeatures = kernel.shape[2]!;
  let y = lower.op("MatMul", [context, lower.op("Reshape", [lower.initializer(kernel), lower.constant("int64", [heads * valueDim, outFeatures])])]);
  if (useBias) y = lower.op("Add", [y, lower.initializer(lower.weight("attention_output/bias", [outFeatures]))]);
  return { name: y, shape: [query.shape[0]!, query.shape[1]!, outFeatures], dtype: "float32" };
});
