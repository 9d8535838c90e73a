import { WeightbridgeError } from "../errors.js";
import { conventionOf, namingOf } from "../vocabulary/conventions.js";
import { channelEffect } from "../vocabulary/layers.js";
import { inferKinds } from "./kinds.js";
import { splitName } from "./name-style.js";
import type { Tracked } from "./tracked.js";
import type { Convention, KindInfo } from "./types.js";

// A Dense/Linear that reads a Flatten of a convolution's output has its input rows in the
// source framework's flatten order (channels-first C,H,W in torch/Paddle/ONNX, channels-last
// H,W,C in Keras); moving between them reorders the rows (the flattenOrder transform). The rows'
// order depends on facts a weight file may not hold, so each such layer gets one of:
//   flattenedFrom {channels[, spatial]}  the files (reader hint) or the user (`flatten=C,H,W`) say it;
//   flattenNone                          the user says no reorder is needed (`flatten=none`);
//   flattenUnknown {channels, features}  it follows convolutions and its inputs are a multiple of
//                                        their channels, or the model config puts a layer of unknown
//                                        effect between the feature map and the Flatten (blockedBy):
//                                        flattenOrder refuses instead of guessing.
// A Flatten of a 1-channel map needs no reorder (c·S + s = s·1 + c). A stated shape that
// contradicts the files (the config, or the convolution the layer follows) is refused.

export interface FlattenUnknown {
  channels: number;
  features: number;
  /** The convolution (module) it follows. */
  after: string;
  /** The model config's layer of unknown effect between the feature map and the Flatten: `name (Class)`. */
  blockedBy?: string;
}

const CONV_FAMILY = /^(conv|depthwise_conv|separable_conv)/;

/** Output channels of a conv/norm tensor that fixes a feature map's channel count, in the given convention. */
function channelsOf(kind: string, param: string, shape: readonly number[], convention: Convention | undefined): number | undefined {
  const keras = namingOf(convention) === "keras-path";
  if (CONV_FAMILY.test(kind) && !kind.startsWith("conv_transpose")) {
    if (keras) {
      if (param.startsWith("depthwise_kernel") && shape.length >= 3 && !kind.startsWith("separable")) return shape.at(-2)! * shape.at(-1)!;
      if (/^(kernel|pointwise_kernel)/.test(param) && shape.length >= 3) return shape.at(-1);
      return undefined;
    }
    if (/^weight$|^pointwise\.weight$/.test(param) && shape.length >= 3) return shape[0];
    return undefined;
  }
  if (kind === "batchnorm" && /^(running_mean|_mean|moving_mean)/.test(param)) return shape[0];
  return undefined;
}

/** Inputs of a Linear/Dense weight (torch [out,in]; Keras and Paddle [in,out]). */
function featuresOf(param: string, shape: readonly number[], convention: Convention | undefined): number | undefined {
  if (shape.length !== 2) return undefined;
  const facts = conventionOf(convention);
  if (facts?.naming === "keras-path") return /^kernel/.test(param) ? shape[0] : undefined;
  if (param !== "weight") return undefined;
  return facts?.linearWeight === "in-out" ? shape[0] : shape[1];
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The `flatten=` value of a `--layer` override: `C,H,W...` (channels first) or `none`. */
function userFlatten(value: unknown, tensor: string, features: number): { channels: number; spatial: number[] } | "none" | undefined {
  if (value === undefined) return undefined;
  if (value === "none") return "none";
  const dims = Array.isArray(value) ? value : [value];
  if (dims.length < 2 || !dims.every((d) => Number.isInteger(d) && (d as number) > 0)) {
    throw new WeightbridgeError(
      "usage",
      `--layer flatten=${dims.join(",")} for ${tensor}: expected flatten=C,H,W (channels, then the spatial sizes) or flatten=none`,
    );
  }
  const [channels, ...spatial] = dims as number[];
  const total = channels! * spatial.reduce((a, b) => a * b, 1);
  if (total !== features) {
    throw new WeightbridgeError(
      "usage",
      `--layer flatten=${dims.join(",")} for ${tensor}: ${dims.join("×")} = ${total}, but the layer has ${features} inputs`,
      { tensor },
    );
  }
  return { channels: channels!, spatial };
}

function withAttributes(item: Tracked, kind: KindInfo, attributes: Record<string, unknown>): Tracked {
  const tensor = item.tensor.layer
    ? { ...item.tensor, layer: { ...item.tensor.layer, attributes: { ...item.tensor.layer.attributes, ...attributes } } }
    : item.tensor;
  return { ...item, tensor, kind: { ...kind, attributes: { ...kind.attributes, ...attributes } } };
}

/**
 * Decides, for every Linear/Dense weight of a source in `convention`, what is known about a
 * Flatten before it (see the file comment). Tensors in file order: a layer "follows
 * convolutions" when the nearest earlier layer with a channel count is a conv or batchnorm.
 */
export function markFlattenEvidence(items: readonly Tracked[], convention: Convention | undefined): Tracked[] {
  // Only names that follow a layer tree say which layer comes after which.
  const naming = namingOf(convention);
  if (naming !== "module-path" && naming !== "keras-path") return [...items];
  const inferred = inferKinds(
    items.map((i) => i.tensor),
    convention,
    [],
  );
  let lastConv: { channels: number; module: string } | undefined;
  return items.map((item) => {
    const kind = item.kind ?? inferred.get(item.tensor.name);
    if (!kind) return item;
    const { module, param } = splitName(item.tensor.name);
    const shape = item.tensor.shape;
    if (kind.kind !== "linear") {
      const channels = channelsOf(kind.kind, param, shape, convention);
      if (channels !== undefined) lastConv = { channels, module };
      // Another kind of layer (embedding, recurrent, norm ...) in between: not a conv's flatten.
      else if (!channelEffect(kind.kind)) lastConv = undefined;
      return item;
    }
    const features = featuresOf(param, shape, convention);
    if (features === undefined) return item;
    const after = lastConv;
    lastConv = undefined;
    const stated = userFlatten(kind.attributes.flatten, item.tensor.name, features);
    if (stated === "none") return withAttributes(item, kind, { flattenNone: true, flattenedFrom: undefined });
    const known = filesChannels(kind.attributes.flattenedFrom, after);
    if (stated) {
      if (known && known.channels !== stated.channels)
        throw new WeightbridgeError("mapping", contradictionMessage(item.tensor.name, stated, known, features), { tensor: item.tensor.name });
      return withAttributes(item, kind, { flattenedFrom: stated });
    }
    if (kind.attributes.flattenedFrom !== undefined) return item;
    const blockedBy = kind.attributes.flattenBlockedBy;
    if (typeof blockedBy === "string") {
      const unknown: FlattenUnknown = { channels: after?.channels ?? 0, features, after: after?.module ?? "", blockedBy };
      return withAttributes(item, kind, { flattenUnknown: unknown });
    }
    if (after && after.channels > 1 && features > after.channels && features % after.channels === 0) {
      const unknown: FlattenUnknown = { channels: after.channels, features, after: after.module };
      return withAttributes(item, kind, { flattenUnknown: unknown });
    }
    return item;
  });
}

/** The channels the files say a layer's flattened input has: the reader's config evidence, else the convolution it follows. */
function filesChannels(hinted: unknown, after: { channels: number; module: string } | undefined): { channels: number; from: string } | undefined {
  const h = hinted as { channels?: unknown } | undefined;
  if (h && typeof h.channels === "number") return { channels: h.channels, from: "the model config" };
  return after ? { channels: after.channels, from: `${after.module}, the convolution it follows,` } : undefined;
}

function overrideFix(tensor: string, shape: string): string {
  const { module } = splitName(tensor);
  const sep = tensor.charAt(module.length);
  return `--layer '^${escapeRegex(module)}${escapeRegex(sep)}=linear(flatten=${shape})'`;
}

function contradictionMessage(
  tensor: string,
  stated: { channels: number; spatial: number[] },
  known: { channels: number; from: string },
  features: number,
): string {
  const given = [stated.channels, ...stated.spatial].join(",");
  const spatial = features / known.channels;
  const fix = Number.isInteger(spatial) ? `: give ${overrideFix(tensor, `${known.channels},${spatial}`)}` : "";
  return `--layer flatten=${given} for ${tensor} says ${stated.channels} channel(s), but ${known.from} says ${known.channels}${fix}, or flatten=none if no Flatten of that map feeds it`;
}

/** The refusal when a flatten's order is needed and unknown (raised by the flattenOrder transform). */
export function flattenUnknownMessage(tensor: string, u: FlattenUnknown): string {
  const { module } = splitName(tensor);
  const sep = tensor.charAt(module.length);
  if (u.blockedBy !== undefined) {
    return (
      `${module} reads a Flatten of the output of ${u.blockedBy}, a layer weightbridge does not know, after a feature map: its rows need reordering between ` +
      `channels-last and channels-first by that map's channel count, which the files do not say; give the map's shape with ` +
      `--layer '^${escapeRegex(module)}${escapeRegex(sep)}=linear(flatten=C,H,W)', or flatten=none if that layer leaves one channel`
    );
  }
  const spatial = u.features / u.channels;
  const side = Math.sqrt(spatial);
  const shape = Number.isInteger(side) ? `${u.channels},${side},${side}` : `${u.channels},${spatial}`;
  return (
    `${module} follows convolutions (${u.after}, ${u.channels} channels) with ${u.features} = ${u.channels}×${spatial} inputs: if a Flatten feeds it, its rows need reordering ` +
    `between channels-first and channels-last, and the files do not say the shape; give it with --layer '^${escapeRegex(module)}${escapeRegex(sep)}=linear(flatten=${shape})' (C,H,W), ` +
    `or flatten=none if no Flatten of a feature map feeds it`
  );
}
