import type { Checkpoint } from "../tensor/checkpoint.js";
import type { Tensor } from "../tensor/tensor.js";
import { inferKinds } from "./kinds.js";
import { splitName } from "./name-style.js";
import { track, type Tracked } from "./tracked.js";
import { bytesData, makeTensor } from "../tensor/tensor.js";
import { filledBytes } from "../kernels/elements.js";
import { layersOf, matchLayers } from "./template-match.js";
import { appendAll } from "../util/arrays.js";
import { isFloating } from "../tensor/dtype.js";

// Lands mapped tensors on a target framework file's names and order: by name, then by a
// normalised name, then layer by layer on evidence (template-match.ts: unique shapes, names,
// positions in identical layer sequences), refusing what stays ambiguous. Every decision is
// recorded with its evidence.

export interface ShapeMismatch {
  source: string;
  target: string;
  shape: number[];
  templateShape: number[];
}

export interface TemplateOutcome {
  /** Matched tensors, renamed to and ordered as the template. */
  items: Tracked[];
  /** Mapped tensors the template has no place for (not written). */
  unmatched: Tracked[];
  /** Bookkeeping the template has no place for (torch's num_batches_tracked into Keras): left out, not a loss. */
  dropped: Tracked[];
  /** Template names nothing landed on. */
  missing: string[];
  mismatched: ShapeMismatch[];
  /** Template tensors whose dtype differs from the tensor that landed on them. */
  dtypeChanges: string[];
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

const BOOKKEEPING = /(^|[./])num_batches_tracked$/;

/** An ONNX initializer no weight slot consumes that is a scalar or integer (Clip bounds, Reshape shapes), or a Constant. */
function isGraphConstant(t: Tensor): boolean {
  if (t.role === "constant") return true;
  if (t.role !== "initializer" || t.layer?.kind) return false;
  return t.shape.reduce((n, d) => n * d, 1) <= 1 || t.dtype.startsWith("int") || t.dtype.startsWith("uint");
}

/**
 * An input's own graph constant the template has no place for (another export of the model numbers
 * them differently): a scalar, or an int32/int64 shape or index tensor, that no weight slot consumes.
 * Not int8/int4: those are quantized weights.
 */
export function isInputGraphConstant(t: Tensor): boolean {
  if ((t.role !== "constant" && t.role !== "initializer") || t.layer?.kind) return false;
  return t.shape.reduce((n, d) => n * d, 1) <= 1 || t.dtype === "int32" || t.dtype === "int64";
}

/** `module.` (DataParallel) and Keras' `:0` aside, `/` and `.` are the same separator. */
export function normalizedName(name: string): string {
  return name
    .replace(/:\d+$/, "")
    .replace(/^module\./, "")
    .replaceAll("/", ".");
}

function family(kind: string | undefined): string | undefined {
  if (!kind) return undefined;
  if (kind.startsWith("conv") || kind.includes("_conv")) return "conv";
  if (kind.endsWith("norm")) return kind === "batchnorm" ? "batchnorm" : "norm";
  return kind;
}

export function matchTemplate(items: readonly Tracked[], template: Checkpoint): TemplateOutcome {
  // Graph constants (ReLU6's Clip bounds, shape tensors) are the template's own, not weights to fill,
  // unless the input holds them by their exact name (it came from this graph): then they carry its value.
  const targets = template.tensors.filter((t) => !isGraphConstant(t));
  const targetKinds = inferKinds(targets, undefined, []);
  const sourceKinds = inferKinds(
    items.map((i) => i.tensor),
    undefined,
    [],
  );
  const assigned = new Map<Tensor, { item: Tracked; how: string }>();
  const used = new Set<Tracked>();
  const mismatched: ShapeMismatch[] = [];
  const blocked = new Set<Tensor>();

  const land = (target: Tensor, item: Tracked, how: string) => {
    assigned.set(target, { item, how });
    used.add(item);
  };

  const byName = new Map(items.map((i) => [i.tensor.name, i]));
  // 0. A graph constant the input holds by its exact name, shape and dtype.
  for (const t of template.tensors) {
    const item = byName.get(t.name);
    if (isGraphConstant(t) && item && item.tensor.dtype === t.dtype && sameShape(item.tensor.shape, t.shape)) land(t, item, "name (a graph constant)");
  }

  // 1. Exact name; a shape disagreement is reported, not papered over.
  for (const t of targets) {
    const item = byName.get(t.name);
    if (!item) continue;
    if (sameShape(item.tensor.shape, t.shape)) land(t, item, "name");
    else {
      mismatched.push({ source: item.sources.join("+") || item.tensor.name, target: t.name, shape: item.tensor.shape, templateShape: t.shape });
      used.add(item);
      blocked.add(t);
    }
  }

  // 2. Normalised name, when unique on both sides.
  const norm = new Map<string, Tracked[]>();
  for (const i of items) if (!used.has(i)) norm.set(normalizedName(i.tensor.name), [...(norm.get(normalizedName(i.tensor.name)) ?? []), i]);
  for (const t of targets) {
    if (assigned.has(t) || blocked.has(t)) continue;
    const candidates = norm.get(normalizedName(t.name));
    if (candidates?.length === 1 && !used.has(candidates[0]!) && sameShape(candidates[0]!.tensor.shape, t.shape)) land(t, candidates[0]!, "normalized name");
  }

  // 3. Layer by layer, on evidence (template-match.ts); then tensor by tensor inside each layer.
  const freeTargets = () => targets.filter((t) => !assigned.has(t) && !blocked.has(t));
  const freeItems = () => items.filter((i) => !used.has(i));
  const kindOfItem = (i: Tracked) => i.kind ?? sourceKinds.get(i.tensor.name);
  const sourceLayers = layersOf(
    freeItems(),
    (i) => i.tensor.name,
    (i) => i.tensor.shape,
    (i) => family(kindOfItem(i)?.kind),
  );
  const targetLayers = layersOf(
    freeTargets(),
    (t) => t.name,
    (t) => t.shape,
    (t) => family(targetKinds.get(t.name)?.kind),
  );
  for (const m of matchLayers(sourceLayers, targetLayers)) {
    const pool = [...m.source.members];
    const take = (t: Tensor, pick: (i: Tracked) => boolean, how: string) => {
      const at = pool.findIndex((i) => sameShape(i.tensor.shape, t.shape) && pick(i));
      if (at < 0) return false;
      land(t, pool.splice(at, 1)[0]!, `${m.source.module} → ${m.target.module}: ${m.evidence}; ${how}`);
      return true;
    };
    const param = (name: string) => splitName(name).param;
    const rest = m.target.members.filter((t) => !take(t, (i) => param(i.tensor.name) === param(t.name), "same parameter name"));
    const ordered: Tensor[] = [];
    for (const t of rest) {
      const shaped = (shape: readonly number[]) => sameShape(shape, t.shape);
      const unique = rest.filter((r) => shaped(r.shape)).length === 1 && pool.filter((i) => shaped(i.tensor.shape)).length === 1;
      if (!unique || !take(t, () => true, "only tensor of its shape in the layer")) ordered.push(t);
    }
    // The parameters of one layer kind come in one fixed order (weight, bias, mean, variance ...).
    for (const t of ordered) take(t, () => true, "parameter order within the layer");
  }
  const out: Tracked[] = [];
  const dtypeChanges: string[] = [];
  const landedModules = new Set([...assigned.keys()].map((t) => splitName(t.name).module));
  for (const t of template.tensors) {
    const a = assigned.get(t);
    if (!a) {
      // torch's batch counter is bookkeeping, not a weight: a layer that landed gets a fresh one.
      if (!blocked.has(t) && BOOKKEEPING.test(t.name) && landedModules.has(splitName(t.name).module)) out.push(freshCounter(t));
      continue;
    }
    if (a.item.tensor.dtype !== t.dtype) dtypeChanges.push(`${t.name}: template has ${t.dtype}, source gives ${a.item.tensor.dtype}`);
    out.push({ ...a.item, matchedBy: a.how, tensor: { ...a.item.tensor, name: t.name } });
  }
  appendAll(out, quantizationCompanions(items, assigned, used));
  return {
    items: out,
    unmatched: items.filter((i) => !used.has(i) && !BOOKKEEPING.test(i.tensor.name)),
    dropped: items.filter((i) => !used.has(i) && BOOKKEEPING.test(i.tensor.name)),
    missing: targets.filter((t) => !assigned.has(t) && !blocked.has(t) && !out.some((o) => o.added && o.tensor.name === t.name)).map((t) => t.name),
    mismatched,
    dtypeChanges,
  };
}

/**
 * A quantized integer tensor read without --dequantize comes with NAME_scale and NAME_zero_point
 * (TFLite's reader); a template read as float has no place for them. They travel with the tensor
 * they quantize, under its new name, so the writer checks them against the template's own.
 */
function quantizationCompanions(items: readonly Tracked[], assigned: ReadonlyMap<Tensor, { item: Tracked }>, used: Set<Tracked>): Tracked[] {
  const landedAs = new Map([...assigned].filter(([, a]) => !isFloating(a.item.tensor.dtype)).map(([t, a]) => [a.item.tensor.name, t.name]));
  const companions: Tracked[] = [];
  for (const i of items) {
    const m = /^(.*)(_scale|_zero_point)$/.exec(i.tensor.name);
    const target = m && !used.has(i) ? landedAs.get(m[1]!) : undefined;
    if (target === undefined) continue;
    used.add(i);
    companions.push({ ...i, matchedBy: `quantization parameter of ${m![1]}`, tensor: { ...i.tensor, name: `${target}${m![2]}` } });
  }
  return companions;
}

function freshCounter(t: Tensor): Tracked {
  const bytes = filledBytes(
    t.dtype,
    t.shape.reduce((n, d) => n * d, 1),
    0,
  );
  return {
    ...track(makeTensor(t.name, t.dtype, [...t.shape], bytesData(bytes))),
    sources: [],
    transforms: ["add(0)"],
    matched: true,
    added: true,
    matchedBy: "template expects it; bookkeeping (batches seen), started at 0",
  };
}
