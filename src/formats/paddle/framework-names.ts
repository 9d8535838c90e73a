import type { LayerHint } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";
import { classKinds } from "../../vocabulary/layers.js";

/**
 * Layer kinds from Paddle framework names (`linear_3.w_0`, `conv2d_transpose_0.b_0`): the prefix
 * is the snake-cased layer class with a process-wide counter, so it names the layer type
 * (never its position). The prefixes are the layer vocabulary's (vocabulary/layers.ts).
 */
const PREFIX_KINDS = classKinds("paddleNames");

/** `linear_3.w_0` → { prefix: "linear", layer: "linear_3" }; undefined when not a generated name. */
export function parseFrameworkName(name: string): { prefix: string; layer: string } | undefined {
  const m = /^(([a-z][a-z0-9_]*?)_\d+)\.[wb]_\d+$/.exec(name);
  return m ? { prefix: m[2]!, layer: m[1]! } : undefined;
}

/** The layer kind a framework name reveals, e.g. `conv2d_3.w_0` → conv2d. */
export function kindFromFrameworkName(name: string): LayerKind | undefined {
  const parsed = parseFrameworkName(name);
  if (!parsed) return undefined;
  return PREFIX_KINDS[parsed.prefix];
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
