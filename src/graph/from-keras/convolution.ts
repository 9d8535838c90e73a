import { int, ints, string, type Attribute } from "../ir.js";
import { activate } from "./activations.js";
import { known, tuple, type KValue, type Lowering } from "./context.js";
import { registerLayers } from "./registry.js";
import { padWindow, spatialOf, windowOf, type Padded } from "./spatial.js";

// Convolutions: Conv1D/2D/3D (groups, dilation, strides, valid/same/causal), DepthwiseConv1D/2D,
// SeparableConv1D/2D and Conv1D/2D/3DTranspose, as channels-first ONNX Conv/ConvTranspose with
// Keras' kernels permuted to ONNX's [out, in/group, ...spatial] when written.

function padAttributes(p: Padded): Record<string, Attribute> {
  return p.autoPad ? { auto_pad: string(p.autoPad) } : { pads: ints(p.pads!) };
}

/** Keras [...k, in, out] → ONNX [out, in, ...k]. */
function spatialLast(rank: number): number[] {
  return [rank + 1, rank, ...Array.from({ length: rank }, (_, i) => i)];
}

function conv(lower: Lowering, x: KValue, rank: number, kernelRole: string, groups: number, out: number, forceValid = false): KValue {
  const w = windowOf(lower, rank, "kernel_size");
  if (forceValid)
    Object.assign(w, { kernel: Array<number>(rank).fill(1), strides: Array<number>(rank).fill(1), dilations: Array<number>(rank).fill(1), padding: "valid" });
  const spatial = spatialOf(x, rank, lower);
  const channels = x.shape[x.shape.length - 1];
  const depthwise = kernelRole === "depthwise_kernel";
  const inPerGroup = known(channels) ? (depthwise ? channels : channels / groups) : undefined;
  const kernel = lower.weight(kernelRole, [...w.kernel, inPerGroup, depthwise && known(channels) ? out / channels : depthwise ? undefined : out]);
  const padded = padWindow(lower, spatial, w);
  const input = lower.toFirst(x);
  let weightName: string;
  if (depthwise) {
    // [...k, C, M] → [C*M, 1, ...k]: output channel c*M + m reads input channel c.
    const perm = [rank, rank + 1, ...Array.from({ length: rank }, (_, i) => i)];
    weightName = lower.op("Reshape", [lower.permuted(kernel, perm, "/oihw"), lower.constant("int64", [out, 1, ...w.kernel])]);
  } else weightName = lower.permuted(kernel, spatialLast(rank), "/oihw");
  const attributes: Record<string, Attribute> = {
    kernel_shape: ints(w.kernel),
    strides: ints(w.strides),
    dilations: ints(w.dilations),
    group: int(groups),
    ...padAttributes(padded),
  };
  const y = lower.op("Conv", [input.name, weightName], attributes);
  return { name: y, shape: [x.shape[0]!, ...padded.out, out], dtype: "float32", channelsFirst: true };
}

function withBias(lower: Lowering, v: KValue, units: number): KValue {
  if (lower.config.use_bias === false) return v;
  const bias = lower.initializer(lower.weight("bias", [units]));
  const rank = v.shape.length - 2;
  const b = lower.op("Reshape", [bias, lower.constant("int64", [units, ...Array<number>(rank).fill(1)])]);
  return { ...v, name: lower.op("Add", [v.name, b]) };
}

function paddingTuple(lower: Lowering, value: unknown, rank: number): number[] {
  try {
    return tuple(value, rank, 0);
  } catch {
    return lower.refuse(`output_padding=${JSON.stringify(value)}`, `is not ${rank} numbers`);
  }
}

function only(lower: Lowering, xs: KValue[]): KValue {
  if (xs.length !== 1) lower.refuse(`${xs.length} inputs`, "where the layer takes one");
  return xs[0]!;
}

for (const rank of [1, 2, 3]) {
  registerLayers([`Conv${rank}D`, `Convolution${rank}D`], (lower, xs) => {
    const x = only(lower, xs);
    const c = lower.config;
    const filters = typeof c.filters === "number" ? c.filters : lower.refuse("filters", "is missing");
    const groups = typeof c.groups === "number" ? c.groups : 1;
    if (rank !== 1 && c.padding === "causal") lower.refuse('padding="causal"', `for a ${rank}D convolution`);
    return activate(lower, withBias(lower, conv(lower, x, rank, "kernel", groups, filters), filters), c.activation);
  });
}

for (const rank of [1, 2]) {
  registerLayers([`DepthwiseConv${rank}D`], (lower, xs) => {
    const x = only(lower, xs);
    const c = lower.config;
    const channels = x.shape[x.shape.length - 1];
    if (!known(channels)) return lower.refuse("an input with unknown channels");
    const multiplier = typeof c.depth_multiplier === "number" ? c.depth_multiplier : 1;
    const y = conv(lower, x, rank, "depthwise_kernel", channels, channels * multiplier);
    return activate(lower, withBias(lower, y, channels * multiplier), c.activation);
  });

  registerLayers([`SeparableConv${rank}D`, `SeparableConvolution${rank}D`], (lower, xs) => {
    const x = only(lower, xs);
    const c = lower.config;
    const channels = x.shape[x.shape.length - 1];
    if (!known(channels)) return lower.refuse("an input with unknown channels");
    const multiplier = typeof c.depth_multiplier === "number" ? c.depth_multiplier : 1;
    const filters = typeof c.filters === "number" ? c.filters : lower.refuse("filters", "is missing");
    const depthwise = conv(lower, x, rank, "depthwise_kernel", channels, channels * multiplier);
    const pointwise = conv(lower, depthwise, rank, "pointwise_kernel", 1, filters, true);
    return activate(lower, withBias(lower, pointwise, filters), c.activation);
  });
}

for (const rank of [1, 2, 3]) {
  registerLayers([`Conv${rank}DTranspose`, ...(rank === 2 ? ["Deconvolution2D"] : [])], (lower, xs) => {
    const x = only(lower, xs);
    const c = lower.config;
    const filters = typeof c.filters === "number" ? c.filters : lower.refuse("filters", "is missing");
    if (typeof c.groups === "number" && c.groups !== 1) lower.refuse(`groups=${c.groups}`);
    const w = windowOf(lower, rank, "kernel_size");
    if (w.padding === "causal") lower.refuse('padding="causal"');
    const spatial = spatialOf(x, rank, lower);
    const channels = x.shape[x.shape.length - 1];
    const kernel = lower.weight("kernel", [...w.kernel, filters, known(channels) ? channels : undefined]);
    const begins: number[] = [];
    const ends: number[] = [];
    const extra: number[] = [];
    const outputPadding = c.output_padding === null || c.output_padding === undefined ? undefined : paddingTuple(lower, c.output_padding, rank);
    const out = spatial.map((L, i) => {
      const k = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
      const s = w.strides[i]!;
      const op = outputPadding?.[i];
      if (op !== undefined && (op < 0 || op >= s)) lower.refuse(`output_padding=${JSON.stringify(c.output_padding)}`, "must be below the strides");
      // Keras' output length minus the full transposed length (L-1)*s + k (deconv_output_length).
      const grow = w.padding === "same" ? (op === undefined ? s - k : op - 2 * Math.floor(k / 2)) : (op ?? 0);
      // TensorFlow's conv_transpose is the gradient of a SAME/VALID conv giving that length: its pads
      // (before = total / 2, rounded down) cropped, and rows past the full length left to the bias.
      const total = Math.max(-grow, 0);
      begins.push(Math.floor(total / 2));
      ends.push(total - Math.floor(total / 2));
      extra.push(grow + total);
      if (!known(L)) return `${lower.call.id}_len${i}`;
      return (L - 1) * s + k + grow;
    });
    const attributes: Record<string, Attribute> = {
      kernel_shape: ints(w.kernel),
      strides: ints(w.strides),
      dilations: ints(w.dilations),
      pads: ints([...begins, ...ends]),
    };
    if (extra.some((e) => e > 0)) attributes.output_padding = ints(extra);
    // Keras [...k, out, in] → ONNX [in, out, ...k].
    const weight = lower.permuted(kernel, spatialLast(rank), "/iohw");
    const y = lower.op("ConvTranspose", [lower.toFirst(x).name, weight], attributes);
    const v: KValue = { name: y, shape: [x.shape[0]!, ...out, filters], dtype: "float32", channelsFirst: true };
    return activate(lower, withBias(lower, v, filters), c.activation);
  });
}
