import type { LayerHint } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";
import { classKinds } from "../../vocabulary/layers.js";

/**
 * Layer hints from PyTorch module class names (whole-model pickles, TorchScript archives). Only
 * torch.nn classes get a kind: a user's `__main__.Linear` could be anything, and a wrong kind
 * would stop the mapping engine from falling back to its name/shape heuristics. The classes are
 * the layer vocabulary's (vocabulary/layers.ts).
 */
const KINDS = classKinds("pytorch");

const DEPTHWISE: Partial<Record<LayerKind, LayerKind>> = { conv1d: "depthwise_conv1d", conv2d: "depthwise_conv2d", conv3d: "depthwise_conv3d" };

/** `torch.nn.modules.conv` from `torch.nn.modules.conv` or TorchScript's `__torch__.torch.nn.modules.conv.___torch_mangle_3`. */
export function pythonModuleOf(module: string): string {
  return module
    .split(".")
    .filter((s, i) => !(i === 0 && s === "__torch__") && !s.startsWith("___torch_mangle_"))
    .join(".");
}

/**
 * The hint for tensors owned by a module of class `module.className` at `path`, or undefined
 * when the class is not a known torch.nn layer. `attributes` are the module's simple public
 * attributes (in_channels, groups, kernel_size ...), which also reveal depthwise convolutions.
 */
export function layerHint(module: string, className: string, path: string, attributes: Record<string, unknown>): LayerHint | undefined {
  if (!pythonModuleOf(module).startsWith("torch.nn.")) return undefined;
  let kind = KINDS[className];
  if (!kind) return undefined;
  const groups = attributes.groups;
  const depthwise = DEPTHWISE[kind];
  if (depthwise && typeof groups === "number" && groups > 1 && groups === attributes.in_channels) kind = depthwise;
  const hint: LayerHint = { framework: "pytorch", className, kind, path };
  if (Object.keys(attributes).length) hint.attributes = attributes;
  return hint;
}

/**
 * What a module's children inherit from it: an attention layer's head count, which the layout of
 * its out_proj depends on (Keras splits it by head).
 */
export function inheritedAttributes(hint: LayerHint | undefined): Record<string, unknown> | undefined {
  return hint?.kind === "mha" && typeof hint.attributes?.num_heads === "number" ? { num_heads: hint.attributes.num_heads } : undefined;
}

/** A child's own hint with what it inherits merged under its own attributes. */
export function withInherited(hint: LayerHint | undefined, inherited: Record<string, unknown> | undefined): LayerHint | undefined {
  return hint && inherited ? { ...hint, attributes: { ...inherited, ...hint.attributes } } : hint;
}

/** JSON-able scalars and small tuples of a module's public attributes (what a mapping rule may ask about). */
export function simpleAttributes(entries: Iterable<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of entries) {
    if (name.startsWith("_") || name === "training") continue;
    if (isSimple(value)) out[name] = value;
    else if (Array.isArray(value) && value.length <= 8 && value.every(isSimple)) out[name] = value;
  }
  return out;
}

function isSimple(v: unknown): v is string | number | boolean {
  return typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)) || (typeof v === "string" && v.length <= 64);
}

/** Modules a Sequential may hold between a conv and a Flatten without changing the channel axis. */
const CHANNEL_NEUTRAL = new Set([
  "ReLU",
  "ReLU6",
  "LeakyReLU",
  "ELU",
  "SELU",
  "CELU",
  "GELU",
  "SiLU",
  "Mish",
  "Sigmoid",
  "Tanh",
  "Hardswish",
  "Hardsigmoid",
  "Hardtanh",
  "PReLU",
  "Dropout",
  "Dropout1d",
  "Dropout2d",
  "Dropout3d",
  "AlphaDropout",
  "Identity",
  "BatchNorm1d",
  "BatchNorm2d",
  "BatchNorm3d",
  "InstanceNorm1d",
  "InstanceNorm2d",
  "InstanceNorm3d",
  "GroupNorm",
  "LocalResponseNorm",
  "MaxPool1d",
  "MaxPool2d",
  "MaxPool3d",
  "AvgPool1d",
  "AvgPool2d",
  "AvgPool3d",
  "LPPool1d",
  "LPPool2d",
  "ZeroPad1d",
  "ZeroPad2d",
  "ConstantPad1d",
  "ConstantPad2d",
  "ReflectionPad1d",
  "ReflectionPad2d",
  "ReplicationPad1d",
  "ReplicationPad2d",
  "Upsample",
  "UpsamplingNearest2d",
  "UpsamplingBilinear2d",
]);

export interface ChildModule {
  name: string;
  /** Python module of the class (`torch.nn.modules.conv`, or TorchScript's `__torch__...`). */
  module: string;
  className: string;
  attributes: Record<string, unknown>;
}

/**
 * In an nn.Sequential, the Linear children that read an nn.Flatten of a conv's (channels-first)
 * output, with the conv's channel count: what a channels-last target needs to reorder their
 * rows. Only what the container's order proves; anything unknown in between ends the evidence.
 */
export function flattenedLinears(parent: ChildModule, children: readonly ChildModule[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  if (parent.className !== "Sequential" || !pythonModuleOf(parent.module).startsWith("torch.nn.")) return out;
  let channels: number | undefined;
  let flattened: number | undefined;
  for (const child of children) {
    const torchNn = pythonModuleOf(child.module).startsWith("torch.nn.");
    const a = child.attributes;
    if (torchNn && /^Conv[123]d$/.test(child.className) && typeof a.out_channels === "number") {
      channels = a.out_channels;
      flattened = undefined;
    } else if (torchNn && child.className === "Flatten" && (a.start_dim ?? 1) === 1 && (a.end_dim ?? -1) === -1) {
      flattened = channels;
      channels = undefined;
    } else if (torchNn && child.className === "Linear") {
      if (flattened !== undefined) out.set(child.name, { flattenedFrom: { channels: flattened } });
      channels = flattened = undefined;
    } else if (!(torchNn && CHANNEL_NEUTRAL.has(child.className))) {
      channels = flattened = undefined;
    }
  }
  return out;
}
