import type { LayerHint } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";

/**
 * Layer kinds from Paddle framework names (`linear_3.w_0`, `conv2d_transpose_0.b_0`): the prefix
 * is the snake-cased layer class with a process-wide counter, so it names the layer type
 * (never its position). Longest prefixes first so conv2d_transpose is not read as conv2d.
 */
const PREFIX_KINDS: Array<[RegExp, LayerKind]> = [
  [/^conv1d_transpose$/, "conv_transpose1d"],
  [/^conv2d_transpose$/, "conv_transpose2d"],
  [/^conv3d_transpose$/, "conv_transpose3d"],
  [/^conv1d$/, "conv1d"],
  [/^conv2d$/, "conv2d"],
  [/^conv3d$/, "conv3d"],
  [/^depthwise_conv2d$/, "depthwise_conv2d"],
  [/^(linear|fc)$/, "linear"],
  [/^(sync_)?batch_norm([123]d)?$/, "batchnorm"],
  [/^layer_norm$/, "layernorm"],
  [/^group_norm$/, "groupnorm"],
  [/^instance_norm([123]d)?$/, "instancenorm"],
  [/^embedding$/, "embedding"],
  [/^lstm(_cell)?$/, "lstm"],
  [/^gru(_cell)?$/, "gru"],
  [/^simple_rnn(_cell)?$/, "rnn"],
  [/^p_re_lu$/, "prelu"],
];

/** `linear_3.w_0` → { prefix: "linear", layer: "linear_3" }; undefined when not a generated name. */
export function parseFrameworkName(name: string): { prefix: string; layer: string } | undefined {
  const m = /^(([a-z][a-z0-9_]*?)_\d+)\.[wb]_\d+$/.exec(name);
  return m ? { prefix: m[2]!, layer: m[1]! } : undefined;
}

/** The layer kind a framework name reveals, e.g. `conv2d_3.w_0` → conv2d. */
export function kindFromFrameworkName(name: string): LayerKind | undefined {
  const parsed = parseFrameworkName(name);
  if (!parsed) return undefined;
  for (const [pattern, kind] of PREFIX_KINDS) {
    if (pattern.test(parsed.prefix)) return kind;
  }
  return undefined;
}

/** The layer path of a structured name: `blocks.0.linear.weight` → `blocks.0.linear`. */
export function layerPathOf(structuredName: string): string | undefined {
  const dot = structuredName.lastIndexOf(".");
  return dot > 0 ? structuredName.slice(0, dot) : undefined;
}

/** A hint from a structured name and its framework name, or undefined when neither says anything. */
export function hintFromNames(structuredName: string, frameworkName: string | undefined): LayerHint | undefined {
  const kind = frameworkName === undefined ? undefined : kindFromFrameworkName(frameworkName);
  if (!kind) return undefined;
  const hint: LayerHint = { kind, framework: "paddle" };
  const path = layerPathOf(structuredName);
  if (path) hint.path = path;
  return hint;
}
