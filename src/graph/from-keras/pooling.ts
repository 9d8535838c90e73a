import { int, ints, string } from "../ir.js";
import type { KValue, Lowering } from "./context.js";
import { registerLayers } from "./registry.js";
import { padWindow, spatialOf, windowOf } from "./spatial.js";

// Max and average pooling in 1D/2D/3D (Keras' average over "same" windows counts only the real
// pixels: ONNX count_include_pad=0), and the global pools (ReduceMean/ReduceMax over the
// spatial axes, keepdims as configured).

function only(lower: Lowering, xs: KValue[]): KValue {
  if (xs.length !== 1) lower.refuse(`${xs.length} inputs`, "where the layer takes one");
  return xs[0]!;
}

for (const rank of [1, 2, 3]) {
  for (const [kind, op] of [
    ["Max", "MaxPool"],
    ["Average", "AveragePool"],
  ] as const) {
    const names = [`${kind}Pooling${rank}D`, `${kind === "Max" ? "Max" : "Avg"}Pool${rank}D`];
    registerLayers(names, (lower, xs) => {
      const x = only(lower, xs);
      const c = lower.config;
      const poolKey = c.pool_size !== undefined ? "pool_size" : "pool_length";
      const pool = windowOf(lower, rank, poolKey);
      const w = c.strides === null || c.strides === undefined ? { ...windowOf(lower, rank, poolKey, pool.kernel), strides: pool.kernel } : pool;
      if (w.padding === "causal") lower.refuse('padding="causal"');
      const padded = padWindow(lower, spatialOf(x, rank, lower), { ...w, dilations: Array<number>(rank).fill(1) });
      const attributes = {
        kernel_shape: ints(w.kernel),
        strides: ints(w.strides),
        ...(padded.autoPad ? { auto_pad: string(padded.autoPad) } : { pads: ints(padded.pads!) }),
        ...(op === "AveragePool" ? { count_include_pad: int(0) } : {}),
      };
      const y = lower.op(op, [lower.toFirst(x).name], attributes);
      return { name: y, shape: [x.shape[0]!, ...padded.out, x.shape[x.shape.length - 1]!], dtype: x.dtype, channelsFirst: true };
    });
  }
  for (const [kind, op] of [
    ["Average", "ReduceMean"],
    ["Max", "ReduceMax"],
  ] as const) {
    const names = [`Global${kind}Pooling${rank}D`, `Global${kind === "Max" ? "Max" : "Avg"}Pool${rank}D`];
    registerLayers(names, (lower, xs) => {
      const x = only(lower, xs);
      if (lower.config.data_format === "channels_first") lower.refuse('data_format="channels_first"');
      if (lower.call.keywordInputs.mask) lower.refuse("mask", "is not implemented");
      spatialOf(x, rank, lower);
      const keep = lower.config.keepdims === true;
      const held = lower.toFirst(x);
      const axes = Array.from({ length: rank }, (_, i) => i + 2);
      const y = lower.op(op, [held.name], { axes: ints(axes), keepdims: int(keep ? 1 : 0) });
      const channels = x.shape[x.shape.length - 1]!;
      if (!keep) return { name: y, shape: [x.shape[0]!, channels], dtype: x.dtype };
      return { name: y, shape: [x.shape[0]!, ...Array<number>(rank).fill(1), channels], dtype: x.dtype, channelsFirst: true };
    });
  }
}
