import { WeightbridgeError } from "../errors.js";
import { splitName } from "./name-style.js";

// Layer-level matching of the tensors names did not place, on evidence only. A layer (module)
// is its tensors' shapes (and kind); a template layer takes a source layer when:
//   - it is the only source layer of that shape signature (and kind) left for it ("only ... left");
//   - among those of its signature, one has the same last name segment ("name");
//   - both sides list layers of identical signatures in identical order, across the whole model
//     or within parents that correspond ("position"): their declaration orders agree, so the
//     position is evidence; when the sequences differ (a shortcut declared first on one side),
//     it is not.
// Whatever is still open with more than one possible partner is refused, with the group and a
// rename rule that would settle it: order + shape alone never decides.

export interface Layer<T> {
  /** Module path in its own naming (`layer1.0.bn1`, `conv2d_3`). */
  module: string;
  members: T[];
  /** Sorted shapes of its tensors (bookkeeping tensors left out). */
  signature: string;
  /** Layer family when known (conv, batchnorm, linear ...). */
  family?: string;
}

export interface LayerMatch<S, T> {
  source: Layer<S>;
  target: Layer<T>;
  evidence: string;
}

const BOOKKEEPING = /(^|[./])num_batches_tracked$/;

/** Groups tensors by module: the signature leaves out bookkeeping tensors such as num_batches_tracked. */
export function layersOf<T>(
  list: readonly T[],
  nameOf: (t: T) => string,
  shapeOf: (t: T) => readonly number[],
  familyOf: (t: T) => string | undefined,
): Layer<T>[] {
  const groups = new Map<string, Layer<T>>();
  for (const t of list) {
    const { module } = splitName(nameOf(t));
    let g = groups.get(module);
    if (!g) groups.set(module, (g = { module, members: [], signature: "" }));
    g.members.push(t);
    g.family ??= familyOf(t);
  }
  for (const g of groups.values()) {
    g.signature = g.members
      .filter((m) => !BOOKKEEPING.test(nameOf(m)))
      .map((m) => shapeOf(m).join("x") || "scalar")
      .sort()
      .join("|");
  }
  return [...groups.values()].filter((g) => g.signature !== "");
}

const fits = <S, T>(s: Layer<S>, t: Layer<T>) => s.signature === t.signature && (!s.family || !t.family || s.family === t.family);
const lastSegment = (module: string) => module.split(/[./]/).pop() ?? "";
const parentOf = (module: string) => module.slice(0, Math.max(0, module.search(/[./][^./]*$/)));
const normalized = (module: string) => module.replace(/^module\./, "").replaceAll("/", ".");

/**
 * Assigns template layers to source layers on evidence; throws `template-mismatch` when some
 * template layer could take more than one source layer and nothing in the files says which.
 */
export function matchLayers<S, T>(sources: readonly Layer<S>[], targets: readonly Layer<T>[]): LayerMatch<S, T>[] {
  const matches: LayerMatch<S, T>[] = [];
  const sourceOf = new Map<Layer<T>, Layer<S>>();
  const targetOf = new Map<Layer<S>, Layer<T>>();
  const land = (source: Layer<S>, target: Layer<T>, evidence: string) => {
    matches.push({ source, target, evidence });
    sourceOf.set(target, source);
    targetOf.set(source, target);
  };
  const openTargets = () => targets.filter((t) => !sourceOf.has(t));
  const candidates = (t: Layer<T>) => sources.filter((s) => !targetOf.has(s) && fits(s, t));
  const suitors = (s: Layer<S>) => targets.filter((t) => !sourceOf.has(t) && fits(s, t));

  for (let progress = true; progress; ) {
    progress = false;
    for (const t of openTargets()) {
      const c = candidates(t);
      // Its only possible partner, unless another template layer has no other partner either.
      const rival = c.length === 1 && suitors(c[0]!).some((o) => o !== t && candidates(o).length === 1);
      if (c.length === 1 && !rival) {
        land(c[0]!, t, `only ${t.family ?? "layer"} left with shapes ${shapesText(t.signature)}`);
        progress = true;
      }
    }
    for (const t of openTargets()) {
      // A bare index (`shortcut.1`) is a position, not a name.
      if (/^\d*$/.test(lastSegment(t.module))) continue;
      const named = candidates(t).filter((s) => lastSegment(s.module) === lastSegment(t.module));
      if (named.length === 1 && suitors(named[0]!).filter((x) => lastSegment(x.module) === lastSegment(t.module)).length === 1) {
        land(named[0]!, t, `same shapes and name '${lastSegment(t.module)}'`);
        progress = true;
      }
    }
    if (!progress) progress = byPosition(sources, targets, sourceOf, targetOf, land);
  }

  const open = openTargets().filter((t) => candidates(t).length > 0);
  if (open.length) throw ambiguity(open, candidates);
  return matches;
}

/** Position evidence: identical signature sequences in scopes that correspond (the whole model, or same-named parents). */
function byPosition<S, T>(
  sources: readonly Layer<S>[],
  targets: readonly Layer<T>[],
  sourceOf: Map<Layer<T>, Layer<S>>,
  targetOf: Map<Layer<S>, Layer<T>>,
  land: (s: Layer<S>, t: Layer<T>, evidence: string) => void,
): boolean {
  const scopes: Array<{ label: string; s: Layer<S>[]; t: Layer<T>[] }> = [];
  // Layers with no possible partner at all take no part in the order.
  const relevantS = sources.filter((s) => targets.some((t) => fits(s, t)));
  const relevantT = targets.filter((t) => sources.some((s) => fits(s, t)));
  scopes.push({ label: "the whole model", s: relevantS, t: relevantT });
  // Parents correspond when named alike, or when the children matched so far all pair them.
  const paired = new Map<string, Set<string>>();
  for (const [t, s] of sourceOf) {
    const key = parentOf(t.module);
    paired.set(key, (paired.get(key) ?? new Set()).add(parentOf(s.module)));
  }
  const parentsT = new Map<string, Layer<T>[]>();
  for (const t of relevantT) parentsT.set(parentOf(t.module), [...(parentsT.get(parentOf(t.module)) ?? []), t]);
  for (const [parent, t] of parentsT) {
    const viaChildren = paired.get(parent);
    const partner = viaChildren?.size === 1 ? [...viaChildren][0]! : undefined;
    const s = relevantS.filter((x) => (partner !== undefined ? parentOf(x.module) === partner : normalized(parentOf(x.module)) === normalized(parent)));
    if (parent !== "" && s.length) scopes.push({ label: partner !== undefined && partner !== parent ? `'${parent}' ↔ '${partner}'` : `'${parent}'`, s, t });
  }
  for (const scope of scopes) {
    const { s, t } = scope;
    if (s.length !== t.length || !s.every((x, i) => fits(x, t[i]!))) continue;
    // Matches already made must sit at the same positions, or the orders disagree after all.
    if (!t.every((x, i) => !sourceOf.has(x) || sourceOf.get(x) === s[i]) || !s.every((x, i) => !targetOf.has(x) || targetOf.get(x) === t[i])) continue;
    let landed = false;
    t.forEach((x, i) => {
      if (sourceOf.has(x) || targetOf.has(s[i]!)) return;
      land(s[i]!, x, `position ${i + 1} of ${t.length} in identical layer sequences (${scope.label})`);
      landed = true;
    });
    if (landed) return true;
  }
  return false;
}

/** `[8] ×4, [8,3,1,1]` for a signature. */
function shapesText(signature: string): string {
  const counts = new Map<string, number>();
  for (const s of signature.split("|")) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `[${s.replaceAll("x", ",")}]${n > 1 ? ` ×${n}` : ""}`).join(", ");
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function ambiguity<S, T>(open: Layer<T>[], candidates: (t: Layer<T>) => Layer<S>[]): WeightbridgeError {
  const t = open[0]!;
  const group = open.filter((x) => x.signature === t.signature && x.family === t.family);
  const pool = candidates(t);
  const few = (names: string[]) => (names.length > 6 ? `${names.slice(0, 6).join(", ")} … (${names.length})` : names.join(", "));
  const rule = `{"match": {"name": "^${escapeRegex(pool[0]!.module)}([./].+)$"}, "rename": "${t.module}$1"}`;
  return new WeightbridgeError(
    "template-mismatch",
    `--template: template layers ${few(group.map((g) => g.module))} and source layers ${few(pool.map((p) => p.module))} have the same shapes ` +
      `(${shapesText(t.signature)}) and nothing in the files says which is which; ` +
      `settle it with a rules file (--map rules.json, after the preset if any: --map PRESET,rules.json) renaming each source layer to its template name, e.g. {"rules": [${rule}, ...]}` +
      (open.length > group.length ? ` (${open.length - group.length} more template layers are ambiguous too)` : ""),
  );
}
