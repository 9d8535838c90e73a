import type { Checkpoint } from "../tensor/checkpoint.js";
import type { Tensor } from "../tensor/tensor.js";
import { inferKinds } from "./kinds.js";
import { splitName } from "./names.js";
import type { Tracked } from "./tracked.js";
import type { KindInfo } from "./types.js";

// Lands mapped tensors on a target framework file's names and order: by name, then by a
// normalised name, then layer by layer in order among layers with the same tensor shapes,
// then tensor by tensor in order among equal shapes. Every decision is recorded.

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
  /** Template names nothing landed on. */
  missing: string[];
  mismatched: ShapeMismatch[];
  /** Template tensors whose dtype differs from the tensor that landed on them. */
  dtypeChanges: string[];
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** `module.` (DataParallel) and Keras' `:0` aside, `/` and `.` are the same separator. */
export function normalizedName(name: string): string {
  return name.replace(/:\d+$/, "").replace(/^module\./, "").replaceAll("/", ".");
}

function family(kind: string | undefined): string | undefined {
  if (!kind) return undefined;
  if (kind.startsWith("conv") || kind.includes("_conv")) return "conv";
  if (kind.endsWith("norm")) return kind === "batchnorm" ? "batchnorm" : "norm";
  return kind;
}

/** Strict: both kinds known and of one family. Lenient: no known kinds disagree. */
function kindsAgree(a: KindInfo | undefined, b: KindInfo | undefined, strict: boolean): boolean {
  const fa = family(a?.kind);
  const fb = family(b?.kind);
  return strict ? fa !== undefined && fa === fb : !fa || !fb || fa === fb;
}

interface Group<T> {
  module: string;
  members: T[];
}

function groupByModule<T>(list: readonly T[], nameOf: (t: T) => string): Group<T>[] {
  const groups = new Map<string, Group<T>>();
  for (const t of list) {
    const { module } = splitName(nameOf(t));
    let g = groups.get(module);
    if (!g) groups.set(module, (g = { module, members: [] }));
    g.members.push(t);
  }
  return [...groups.values()];
}

function shapeKey(shapes: ReadonlyArray<readonly number[]>): string {
  return shapes.map((s) => s.join("x")).sort().join("|");
}

export function matchTemplate(items: readonly Tracked[], template: Checkpoint): TemplateOutcome {
  const targets = template.tensors;
  const targetKinds = inferKinds(targets, undefined, []);
  const sourceKinds = inferKinds(items.map((i) => i.tensor), undefined, []);
  const assigned = new Map<Tensor, { item: Tracked; how: string }>();
  const used = new Set<Tracked>();
  const mismatched: ShapeMismatch[] = [];
  const blocked = new Set<Tensor>();

  const land = (target: Tensor, item: Tracked, how: string) => {
    assigned.set(target, { item, how });
    used.add(item);
  };

  // 1. Exact name; a shape disagreement is reported, not papered over.
  const byName = new Map(items.map((i) => [i.tensor.name, i]));
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

  // 3. Layer by layer, in order: the next source layer whose shapes (and kind) agree; first
  // among layers whose kinds are known to agree, then among layers of unknown kind.
  const freeTargets = () => targets.filter((t) => !assigned.has(t) && !blocked.has(t));
  const freeItems = () => items.filter((i) => !used.has(i));
  const kindOfItem = (i: Tracked) => i.kind ?? sourceKinds.get(i.tensor.name);
  for (const strict of [true, false]) {
    const sourceGroups = groupByModule(freeItems(), (i) => i.tensor.name);
    let cursor = 0;
    for (const tg of groupByModule(freeTargets(), (t) => t.name)) {
      const key = shapeKey(tg.members.map((t) => t.shape));
      for (let s = cursor; s < sourceGroups.length; s++) {
        const sg = sourceGroups[s]!;
        if (shapeKey(sg.members.map((i) => i.tensor.shape)) !== key) continue;
        if (!kindsAgree(kindOfItem(sg.members[0]!), targetKinds.get(tg.members[0]!.name), strict)) continue;
        const pool = [...sg.members];
        for (const t of tg.members) {
          const at = pool.findIndex((i) => sameShape(i.tensor.shape, t.shape));
          land(t, pool.splice(at, 1)[0]!, "layer order + shape");
        }
        sourceGroups.splice(s, 1);
        cursor = s;
        break;
      }
    }
  }

  // 4. Tensor by tensor, in order, among equal shapes and agreeing kinds.
  for (const strict of [true, false]) {
    for (const t of freeTargets()) {
      const item = freeItems().find((i) => sameShape(i.tensor.shape, t.shape) && kindsAgree(kindOfItem(i), targetKinds.get(t.name), strict));
      if (item) land(t, item, "tensor order + shape");
    }
  }

  const out: Tracked[] = [];
  const dtypeChanges: string[] = [];
  for (const t of targets) {
    const a = assigned.get(t);
    if (!a) continue;
    if (a.item.tensor.dtype !== t.dtype) dtypeChanges.push(`${t.name}: template has ${t.dtype}, source gives ${a.item.tensor.dtype}`);
    out.push({ ...a.item, matchedBy: a.how, tensor: { ...a.item.tensor, name: t.name } });
  }
  return {
    items: out,
    unmatched: items.filter((i) => !used.has(i)),
    missing: targets.filter((t) => !assigned.has(t) && !blocked.has(t)).map((t) => t.name),
    mismatched,
    dtypeChanges,
  };
}
