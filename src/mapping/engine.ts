import { appendAll } from "../util/arrays.js";
import { bytesData, makeTensor, type Tensor } from "../tensor/tensor.js";
import { filledBytes } from "../kernels/elements.js";
import { WeightbridgeError } from "../errors.js";
import { capturesOf, compileRegex, expandTemplate, type Captures } from "./rule-patterns.js";
import { compileOverrides, inferKinds, normalizeKind } from "./kinds.js";
import { applyTransform, type Lazy, type TransformContext } from "./transforms.js";
import { combine } from "./combine.js";
import { markFlattenEvidence } from "./flatten.js";
import type { Tracked } from "./tracked.js";
import type { KindInfo, Rule, RuleSet, Transform } from "./types.js";

interface CompiledRule {
  rule: Rule;
  id: string;
  name: RegExp;
  path?: RegExp;
  kinds?: string[];
  ops?: string[];
}

export interface CompiledRuleSet {
  set: RuleSet;
  label: string;
  rules: CompiledRule[];
  overrides: ReturnType<typeof compileOverrides>;
}

const list = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** Compiles a (validated) rule set's regexes once. */
export function compileRuleSet(set: RuleSet, label: string): CompiledRuleSet {
  return {
    set,
    label,
    overrides: compileOverrides(set.kinds, label),
    rules: set.rules.map((rule, i) => {
      const where = `${label}: rules[${i}]${rule.id ? ` (${rule.id})` : ""}`;
      return {
        rule,
        id: `${label}#${rule.id ?? i}`,
        name: compileRegex(rule.match.name, where),
        path: rule.match.path !== undefined ? compileRegex(rule.match.path, where) : undefined,
        kinds: list(rule.match.kind)?.map((k) => normalizeKind(k)),
        ops: list(rule.match.op)?.map((o) => o.toLowerCase()),
      };
    }),
  };
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function matchRule(c: CompiledRule, t: Tensor, kind: KindInfo | undefined, names: ReadonlySet<string>): Captures | undefined {
  const m = c.rule.match;
  const byName = c.name.exec(t.name);
  if (!byName) return undefined;
  if (c.kinds && (!kind || !c.kinds.includes(kind.kind))) return undefined;
  if (c.ops && !c.ops.includes((t.layer?.className ?? "").toLowerCase())) return undefined;
  let byPath: RegExpExecArray | null | undefined;
  if (c.path) {
    byPath = t.layer?.path !== undefined ? c.path.exec(t.layer.path) : null;
    if (!byPath) return undefined;
  }
  const rank = list(m.rank);
  if (rank && !rank.includes(t.shape.length)) return undefined;
  const dtypes = list(m.dtype);
  if (dtypes && !dtypes.includes(t.dtype)) return undefined;
  const attrs = kind?.attributes ?? t.layer?.attributes ?? {};
  if (m.attributes) {
    for (const [key, value] of Object.entries(m.attributes)) if (!jsonEqual(attrs[key], value)) return undefined;
  }
  const caps = capturesOf(byName, byPath, attrs);
  for (const s of m.siblings ?? []) if (!names.has(expandTemplate(s, caps, c.id))) return undefined;
  for (const s of m.absent ?? []) if (names.has(expandTemplate(s, caps, c.id))) return undefined;
  return caps;
}

function runTransforms(start: Lazy, specs: readonly Transform[] | undefined, ctx: TransformContext, notes: string[]): Lazy {
  let t = start;
  for (const spec of specs ?? []) {
    const r = applyTransform(t, spec, ctx);
    if (r) {
      t = r.tensor;
      notes.push(r.note);
    }
  }
  return t;
}

export interface RuleSetOutcome {
  items: Tracked[];
  dropped: Tracked[];
}

/**
 * Applies one rule set: each tensor takes the first rule that matches it (partners consumed by
 * a `combine` are not visited again); tensors no rule matches pass through unchanged.
 */
export function applyRuleSet(items: readonly Tracked[], compiled: CompiledRuleSet): RuleSetOutcome {
  const tensors = items.map((i) => i.tensor);
  const inferred = inferKinds(tensors, compiled.set.from, compiled.overrides);
  const kindOf = (item: Tracked): KindInfo | undefined => {
    const fresh = inferred.get(item.tensor.name);
    // A kind decided earlier in a chain (on the original names) beats a guess on new names,
    // and a user's override (`--layer`) beats everything but another override.
    if (item.kind && (!fresh || fresh.evidence === "heuristic")) return item.kind;
    if (item.kind?.evidence === "override" && fresh?.evidence !== "override") return item.kind;
    return fresh;
  };
  const byName = new Map(items.map((i) => [i.tensor.name, i]));
  const names = new Set(byName.keys());
  const consumed = new Set<Tracked>();
  const out: Tracked[] = [];
  const dropped: Tracked[] = [];

  for (const item of items) {
    if (consumed.has(item)) continue;
    const kind = kindOf(item);
    let done = false;
    for (const c of compiled.rules) {
      const caps = matchRule(c, item.tensor, kind, names);
      if (!caps) continue;
      const rule = c.rule;
      let partners: Tracked[] = [];
      if (rule.combine) {
        const wanted = rule.combine.with.map((w) => byName.get(expandTemplate(w, caps, c.id)));
        if (wanted.some((p) => !p || p === item || consumed.has(p))) continue;
        partners = wanted as Tracked[];
      }
      consumed.add(item);
      for (const p of partners) consumed.add(p);
      done = true;
      const name = item.tensor.name;
      if (rule.fail) throw new WeightbridgeError("mapping", `${rule.fail} (rule ${c.id})`, { tensor: name });
      const group = [item, ...partners];
      const heuristics = [...new Set(group.flatMap((g) => g.heuristics))];
      if (kind?.evidence === "heuristic" && kind.heuristic && !heuristics.includes(kind.heuristic)) heuristics.push(kind.heuristic);
      const base: Omit<Tracked, "tensor"> = {
        sources: group.flatMap((g) => g.sources),
        sourceDtype: item.sourceDtype,
        sourceShape: item.sourceShape,
        transforms: [...item.transforms],
        rules: [...item.rules, c.id],
        matched: true,
        kind,
        heuristics,
      };
      if (rule.drop) {
        dropped.push({ ...base, tensor: item.tensor }, ...partners.map((p) => ({ ...p, rules: [...p.rules, c.id] })));
        break;
      }
      let input: Lazy = item.tensor;
      const combined: string[] = [];
      if (rule.combine) {
        const r = combine(
          group.map((g) => g.tensor),
          rule.combine,
          name,
        );
        input = r.tensor;
        combined.push(`${r.note}(${group.map((g) => g.tensor.name).join(", ")})`);
      }
      const outputs = rule.outputs ?? [{ rename: rule.rename ?? "$0", transforms: rule.transforms }];
      for (const o of outputs) {
        const notes = [...combined];
        const ctx: TransformContext = {
          tensor: name,
          attributes: kind?.attributes ?? {},
          heuristic: (h) => heuristics.includes(h) || heuristics.push(h),
        };
        const t = runTransforms(input, o.transforms, ctx, notes);
        const target = expandTemplate(o.rename, caps, c.id);
        out.push({
          ...base,
          heuristics: [...heuristics],
          transforms: [...base.transforms, ...notes],
          tensor: { ...item.tensor, name: target, dtype: t.dtype, shape: t.shape, data: t.data },
        });
      }
      for (const a of rule.add ?? []) {
        const target = expandTemplate(a.name, caps, c.id);
        const bytes = filledBytes(
          a.dtype,
          a.shape.reduce((n, d) => n * d, 1),
          a.value,
        );
        const tensor = makeTensor(target, a.dtype, [...a.shape], bytesData(bytes));
        out.push({
          tensor,
          sources: [],
          sourceDtype: a.dtype,
          sourceShape: [...a.shape],
          transforms: [`add(${a.value})`],
          rules: [c.id],
          matched: true,
          heuristics: [],
          added: true,
        });
      }
      break;
    }
    if (!done) {
      const passed: Tracked = { ...item, kind: kind ?? item.kind };
      if (compiled.set.exhaustive) passed.unmatchedBy ??= compiled.label;
      out.push(passed);
    }
  }
  return { items: dedupe(out), dropped };
}

/** Added tensors yield to real ones of the same name; two real ones with one name is an error. */
function dedupe(items: Tracked[]): Tracked[] {
  const real = new Map<string, Tracked>();
  for (const i of items) {
    if (i.added) continue;
    const other = real.get(i.tensor.name);
    if (other) {
      throw new WeightbridgeError("mapping", `two tensors map to '${i.tensor.name}': from ${other.sources.join("+") || "(added)"} and ${i.sources.join("+")}`, {
        tensor: i.tensor.name,
      });
    }
    real.set(i.tensor.name, i);
  }
  const seenAdded = new Set<string>();
  return items.filter((i) => {
    if (!i.added) return true;
    if (real.has(i.tensor.name) || seenAdded.has(i.tensor.name)) return false;
    seenAdded.add(i.tensor.name);
    return true;
  });
}

/** Applies rule sets in order; what any of them dropped is collected (added tensors aside). */
export function runRuleSets(start: readonly Tracked[], ruleSets: readonly CompiledRuleSet[]): RuleSetOutcome {
  // What the files (or --layer) say about a Flatten before each Dense, for flattenOrder.
  let items = markFlattenEvidence(start, ruleSets[0]?.set.from);
  const dropped: Tracked[] = [];
  for (const compiled of ruleSets) {
    const outcome = applyRuleSet(items, compiled);
    items = outcome.items;
    appendAll(
      dropped,
      outcome.dropped.filter((d) => !d.added),
    );
  }
  return { items, dropped };
}
