import type { Tensor } from "../tensor/tensor.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import type { TensorReport } from "../mapping/report.js";
import type { KindInfo } from "../mapping/types.js";
import type { Framework, LayerSide } from "./reference.js";
import { legacyKerasNames } from "../mapping/keras3-names.js";
import { track } from "../mapping/tracked.js";
import { namingOf } from "../vocabulary/conventions.js";

// Which tensors make one layer, and what role each plays in its framework. The source is split
// into layers by the file's layer paths (hints) or, failing that, by its names; each layer's
// counterpart is whatever the conversion report says its tensors became. Roles are the names
// inside the layer (`weight`, `lstm_cell/kernel`) or, for ONNX, the node's op and input slot.

export interface PairedLayer {
  name: string;
  kind?: string;
  /** How the kind was decided (hint, override, heuristic name). */
  kindEvidence?: string;
  source: Tensor[];
  target: Tensor[];
  /** Source tensors the report gives a target. */
  converted: string[];
  /** Names the report says the layer became but the converted file lacks. */
  absent: string[];
  attributes: Record<string, unknown>;
  /** Source layers whose weights the conversion merged into this one's (a BatchNorm folded into a Conv). */
  fused?: PairedLayer[];
}

const RECURRENT_OPS = new Set(["LSTM", "GRU", "RNN"]);

function separator(framework: Framework): string {
  return namingOf(framework) === "keras-path" ? "/" : ".";
}

function bare(name: string, framework: Framework): string {
  return namingOf(framework) === "keras-path" ? name.replace(/:\d+$/, "") : name;
}

/** The layer a tensor belongs to, from its name alone. */
function layerFromName(name: string, framework: Framework): string {
  const sep = separator(framework);
  const parts = bare(name, framework).split(sep);
  parts.pop();
  if (namingOf(framework) === "keras-path") {
    while (parts.length > 1 && /cell|^forward_|^backward_|^forward$|^backward$|^(query|key|value|attention_output)$/.test(parts[parts.length - 1]!))
      parts.pop();
  }
  return parts.join(sep);
}

function layerOf(t: Tensor, framework: Framework): string {
  const naming = namingOf(framework);
  if (naming === "graph-input") return t.layer?.path ?? t.name;
  if (naming === "keras-path" && t.layer?.path) return t.layer.path;
  return layerFromName(t.name, framework);
}

/**
 * Sub-modules that are one layer to the other frameworks: an attention's out_proj (and Paddle's
 * q/k/v_proj), a separable conv's depthwise/pointwise, Paddle's `lstm.0.cell` aliases.
 */
function parentLayer(
  layer: string,
  layers: ReadonlyMap<string, Tensor[]>,
  framework: Framework,
  kindOf: (t: Tensor) => string | undefined,
): string | undefined {
  if (namingOf(framework) !== "module-path") return undefined;
  const has = (parent: string, param: string) => layers.get(parent)?.some((t) => t.name === `${parent}.${param}`) ?? false;
  let m = /^(.+)\.(out_proj|q_proj|k_proj|v_proj)$/.exec(layer);
  // Paddle's attention is four Linear sub-layers: one layer only when the file says it is attention.
  const paddleAttention = (parent: string) => layers.get(`${parent}.q_proj`)?.some((t) => kindOf(t) === "mha") ?? false;
  if (m && (has(m[1]!, "in_proj_weight") || has(m[1]!, "q_proj_weight") || paddleAttention(m[1]!))) return m[1];
  m = /^(.+)\.(depthwise|pointwise)$/.exec(layer);
  if (m && layers.has(`${m[1]}.depthwise`) && layers.has(`${m[1]}.pointwise`)) return `${m[1]}#separable`;
  m = /^(.+)\.\d+\.cell(?:_fw|_bw)?$/.exec(layer);
  if (m && layers.has(m[1]!)) return m[1];
  return undefined;
}

/** Splits a checkpoint's tensors into layers (in file order). */
export function groupLayers(
  tensors: readonly Tensor[],
  framework: Framework,
  kindOf: (t: Tensor) => string | undefined = () => undefined,
): Map<string, Tensor[]> {
  const layers = new Map<string, Tensor[]>();
  for (const t of tensors) {
    const l = layerOf(t, framework);
    const list = layers.get(l) ?? [];
    layers.set(l, list);
    list.push(t);
  }
  const merged = new Map<string, Tensor[]>();
  for (const [l, list] of layers) {
    const parent = parentLayer(l, layers, framework, kindOf);
    const key = parent?.replace(/#separable$/, "") ?? l;
    const into = merged.get(key) ?? [];
    merged.set(key, into);
    into.push(...list);
  }
  return merged;
}

/** Pairs every source layer with the converted tensors the report says it became. */
export function pairLayers(
  source: Checkpoint,
  sourceFramework: Framework,
  report: readonly TensorReport[],
  converted: Checkpoint,
  kinds: ReadonlyMap<string, KindInfo>,
): PairedLayer[] {
  const targetsOf = new Map<string, string[]>();
  for (const r of report) {
    for (const s of r.sources ?? [r.source]) {
      const list = targetsOf.get(s) ?? [];
      targetsOf.set(s, list);
      if (!list.includes(r.target)) list.push(r.target);
    }
  }
  const reportKind = new Map(report.filter((r) => r.kind).map((r) => [r.sources?.[0] ?? r.source, r]));
  const byName = new Map(converted.tensors.map((t) => [t.name, t]));
  const order = new Map(converted.tensors.map((t, i) => [t.name, i]));
  const out: PairedLayer[] = [];
  const kindOf = (t: Tensor) => reportKind.get(t.name)?.kind ?? kinds.get(t.name)?.kind;
  for (const [name, tensors] of groupLayers(source.tensors, sourceFramework, kindOf)) {
    const targetNames = [...new Set(tensors.flatMap((t) => targetsOf.get(t.name) ?? []))];
    const target = targetNames.map((n) => byName.get(n)).filter((t): t is Tensor => t !== undefined);
    target.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    const decided = tensors.map((t) => kinds.get(t.name)).find((k) => k !== undefined);
    const reported = tensors.map((t) => reportKind.get(t.name)).find((r) => r !== undefined);
    const structural = structuralKind(sideOf(tensors, sourceFramework).roles);
    const kind = structural ?? reported?.kind ?? decided?.kind;
    const evidence = structural
      ? "names inside the layer"
      : reported?.kindEvidence === "heuristic"
        ? `heuristic: ${reported.kindHeuristic}`
        : (reported?.kindEvidence ?? decided?.evidence);
    const attributes: Record<string, unknown> = {};
    for (const t of tensors) for (const [k, v] of Object.entries(t.layer?.attributes ?? {})) if (!(k in attributes)) attributes[k] = v;
    Object.assign(attributes, decided?.evidence === "override" ? decided.attributes : {});
    const converted = tensors.filter((t) => targetsOf.get(t.name)?.length).map((t) => t.name);
    out.push({ name, kind, kindEvidence: evidence, source: tensors, target, converted, absent: targetNames.filter((n) => !byName.has(n)), attributes });
  }
  return mergeFused(out);
}

/**
 * Layers whose converted tensors are shared (every target of the later one is a target of the
 * earlier one, as when a BatchNorm is folded into the Conv before it) become one row: the earlier
 * layer with the later ones in `fused`, computed in sequence on the source side.
 */
function mergeFused(layers: PairedLayer[]): PairedLayer[] {
  const owner = new Map<string, PairedLayer>();
  const out: PairedLayer[] = [];
  for (const layer of layers) {
    const first = layer.target.length ? owner.get(layer.target[0]!.name) : undefined;
    if (first && layer.target.every((t) => owner.get(t.name) === first)) {
      (first.fused ??= []).push(layer);
      continue;
    }
    for (const t of layer.target) if (!owner.has(t.name)) owner.set(t.name, layer);
    out.push(layer);
  }
  return out;
}

/** Layers whose parameter names say what they are, whatever kind each tensor was given alone. */
function structuralKind(roles: ReadonlyMap<string, Tensor>): string | undefined {
  const has = (...names: string[]) => names.every((n) => roles.has(n));
  if (has("query/kernel", "attention_output/kernel") || has("in_proj_weight", "out_proj.weight") || has("q_proj_weight", "out_proj.weight")) return "mha";
  if (has("depthwise_kernel", "pointwise_kernel") || has("depthwise.weight", "pointwise.weight")) return "separable_conv2d";
  return undefined;
}

/**
 * Keras 3 files name weights by object path and index (`layers/dense/vars/0`); roles need the
 * Keras 2 names (`dense/kernel:0`) the mapping gives them from the layer kind.
 */
export function withKerasNames(tensors: readonly Tensor[]): Tensor[] {
  if (!tensors.some((t) => /\/vars\/\d+$/.test(t.name))) return [...tensors];
  const renamed = legacyKerasNames(tensors.map(track), []);
  return tensors.map((t, i) => (renamed[i]!.tensor.name === t.name ? t : { ...t, roleName: renamed[i]!.tensor.name }));
}

/** The name a tensor plays its role under (its Keras 2 name for a Keras 3 variable). */
function roleNameOf(t: Tensor): string {
  return (t as Tensor & { roleName?: string }).roleName ?? t.name;
}

/** One side of a layer: roles by the names inside the layer (ONNX: op and input slot). */
export function sideOf(tensors: readonly Tensor[], framework: Framework, extra: Record<string, unknown> = {}): LayerSide<Tensor> {
  const attributes: Record<string, unknown> = {};
  for (const t of tensors) for (const [k, v] of Object.entries(t.layer?.attributes ?? {})) if (!(k in attributes)) attributes[k] = v;
  for (const [k, v] of Object.entries(extra)) if (!(k in attributes)) attributes[k] = v;
  const roles = new Map<string, Tensor>();
  if (namingOf(framework) === "graph-input") {
    for (const t of tensors) {
      const op = t.layer?.className;
      const slot = t.layer?.attributes?.input;
      if (!op || typeof slot !== "string") continue;
      const layer = RECURRENT_OPS.has(op) ? `#${Number(t.layer?.attributes?.layer ?? 0)}` : "";
      roles.set(`${op}:${slot}${layer}`, t);
    }
    return { framework, roles, attributes };
  }
  const sep = separator(framework);
  const split = tensors.map((t) => bare(roleNameOf(t), framework).split(sep));
  let common = split.length ? Math.min(...split.map((s) => s.length - 1)) : 0;
  for (let i = 0; i < common; i++) {
    if (!split.every((s) => s[i] === split[0]![i])) {
      common = i;
      break;
    }
  }
  tensors.forEach((t, k) => roles.set(split[k]!.slice(common).join(sep), t));
  return { framework, roles, attributes };
}

/** ONNX op inputs → the torch/Paddle parameter each becomes (what onnx2torch names an exporter-made initializer). */
const ONNX_SLOT_PARAMS: Readonly<Record<string, string>> = {
  "Gemm:B": "weight",
  "MatMul:B": "weight",
  "Gemm:C": "bias",
  "Add:bias": "bias",
  "Conv:W": "weight",
  "Conv:B": "bias",
  "ConvTranspose:W": "weight",
  "ConvTranspose:B": "bias",
  "BatchNormalization:scale": "weight",
  "BatchNormalization:B": "bias",
  "BatchNormalization:mean": "running_mean",
  "BatchNormalization:var": "running_var",
  "Gather:data": "weight",
};

/**
 * ONNX initializers a conversion kept under their own names (`W`, `B`: no module path to give them)
 * play the role their ONNX slot gives them on the converted side: named `<layer>.weight`/`.bias` for
 * the roles, as the converted file does not say it.
 */
export function withOnnxSlotRoles(layers: PairedLayer[], sourceFramework: Framework, targetFramework: Framework): PairedLayer[] {
  if (namingOf(sourceFramework) !== "graph-input" || namingOf(targetFramework) !== "module-path") return layers;
  return layers.map((layer) => {
    if (layer.target.some((t) => t.name.includes("."))) return layer;
    const slotOf = new Map(layer.source.map((t) => [t.name, `${t.layer?.className}:${String(t.layer?.attributes?.input)}`]));
    const named = layer.target.map((t) => {
      const param = ONNX_SLOT_PARAMS[slotOf.get(t.name) ?? ""];
      return param ? { ...t, roleName: `${layer.name}.${param}` } : t;
    });
    return { ...layer, target: named };
  });
}
