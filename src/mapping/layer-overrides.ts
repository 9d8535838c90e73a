import { WeightbridgeError } from "../errors.js";
import { compileOverrides, inferKinds, knownKinds, normalizeKind } from "./kinds.js";
import type { Tracked } from "./tracked.js";
import type { KindOverride } from "./types.js";

// `--layer 'REGEX=KIND'`: the user says what a bare state_dict's tensors are. Same mechanism
// as a rule file's `kinds`, applied to the source names (after prefix options) before any rule
// set, and carried through chains; an override beats the reader's hint and every heuristic.

/** Parses `REGEX=KIND` (split at the last `=`, so the regex may contain one). */
export function parseLayerOverride(spec: string): KindOverride {
  const at = spec.lastIndexOf("=");
  const match = at > 0 ? spec.slice(0, at) : "";
  const kind = at > 0 ? spec.slice(at + 1).trim() : "";
  if (!match || !kind) throw new WeightbridgeError("usage", `--layer '${spec}': expected REGEX=KIND, e.g. --layer '^fc\\d*\\.=linear'`);
  const canonical = normalizeKind(kind);
  if (!knownKinds().includes(canonical)) {
    throw new WeightbridgeError("usage", `--layer '${spec}': unknown layer kind '${kind}' (known: ${knownKinds().join(", ")})`);
  }
  return { match, kind: canonical };
}

/** Sets the kind of every item whose name an override matches (first override wins). */
export function applyLayerOverrides(items: Tracked[], specs: readonly string[] | undefined, warnings: string[]): Tracked[] {
  if (!specs?.length) return items;
  const overrides = specs.map(parseLayerOverride);
  const compiled = compileOverrides(overrides, "--layer").map((o, i) => ({ ...o, label: `--layer '${specs[i]}'` }));
  const kinds = inferKinds(items.map((i) => i.tensor), undefined, compiled);
  for (const o of compiled) if (!items.some((i) => o.regex.test(i.tensor.name))) warnings.push(`${o.label} matches no tensor`);
  return items.map((item) => {
    const k = kinds.get(item.tensor.name);
    return k?.evidence === "override" ? { ...item, kind: k } : item;
  });
}
