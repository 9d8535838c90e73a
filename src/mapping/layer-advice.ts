import { splitName } from "./name-style.js";
import type { Tracked } from "./tracked.js";

// A tensor no rule places may still be an ordinary layer whose class the file does not name (a
// QKeras QDense, a custom Linear): its parameter names and shapes say which kind it is like, and
// `--layer 'REGEX=KIND'` is then the whole fix. The advice names that flag, with the regex.

/** The layer kind a module's parameter names and weight rank look like, Keras or torch style. */
function kindOf(params: Map<string, number>): string | undefined {
  const has = (...names: string[]) => names.every((n) => params.has(n));
  if (has("gamma", "beta", "moving_mean", "moving_variance") || has("weight", "bias", "running_mean", "running_var")) return "batchnorm";
  if (has("depthwise_kernel")) return "depthwise_conv2d";
  if (has("embeddings")) return "embedding";
  const weightRank = params.get("kernel") ?? params.get("weight");
  if (weightRank === 2) return "linear";
  if (weightRank !== undefined && weightRank >= 3 && weightRank <= 5) return `conv${weightRank - 2}d`;
  return undefined;
}

/** `--layer '^q_dense/=linear'` for the first unplaced module that looks like a known layer, if any. */
export function layerFlagAdvice(items: Tracked[], unmatched: readonly string[]): string | undefined {
  const names = new Set(unmatched);
  const modules = new Map<string, { separator: string; params: Map<string, number> }>();
  for (const item of items) {
    if (!names.has(item.tensor.name)) continue;
    const split = splitName(item.tensor.name);
    // Keras 3 object paths: `layers/q_dense/vars/0` is the layer's first variable (its kernel).
    const vars = /^(.*)\/vars$/.exec(split.module);
    const module = vars ? vars[1]! : split.module;
    const param = vars ? (split.param === "0" ? (item.tensor.shape.length >= 2 ? "kernel" : "weight0") : `var${split.param}`) : split.param;
    if (module === "") continue;
    const separator = item.tensor.name.charAt(module.length);
    const entry = modules.get(module) ?? { separator, params: new Map<string, number>() };
    entry.params.set(param, item.tensor.shape.length);
    modules.set(module, entry);
  }
  for (const [module, { separator, params }] of modules) {
    const kind = kindOf(params);
    if (!kind) continue;
    const regex = `^${module.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${separator === "." ? "\\." : separator}`;
    const more = modules.size > 1 ? " (one --layer per layer, or a regex matching several)" : "";
    return `their names look like a known layer's: if ${module} is a ${kind} layer, say so with --layer '${regex}=${kind}'${more}`;
  }
  return undefined;
}
