import { WeightbridgeError } from "../errors.js";
import { compileOverrides, inferKinds, knownKinds, normalizeKind } from "./kinds.js";
import type { Tracked } from "./tracked.js";
import type { KindOverride } from "./types.js";
import type { JsonValue } from "../tensor/checkpoint.js";

// `--layer 'REGEX=KIND'`: the user says what a bare state_dict's tensors are. Same mechanism
// as a rule file's `kinds`, applied to the source names (after prefix options) before any rule
// set, and carried through chains; an override beats the reader's hint and every heuristic.

/**
 * Parses `REGEX=KIND` or `REGEX=KIND(NAME=VALUE, ...)`: the attributes a layout rule may need that
 * a bare state_dict cannot tell (`attn\.=mha(num_heads=8)`). Split at the `=` before the kind, so
 * the regex may contain one.
 */
export function parseLayerOverride(spec: string): KindOverride {
  const m = /^(.+)=\s*([A-Za-z][\w]*)\s*(?:\(([^()]*)\))?\s*$/.exec(spec);
  if (!m) throw new WeightbridgeError("usage", `--layer '${spec}': expected REGEX=KIND or REGEX=KIND(NAME=VALUE, ...), e.g. --layer '^fc\\d*\\.=linear'`);
  const [, match, kind, attrs] = m;
  const canonical = normalizeKind(kind!);
  if (!knownKinds().includes(canonical)) {
    throw new WeightbridgeError("usage", `--layer '${spec}': unknown layer kind '${kind}' (known: ${knownKinds().join(", ")})`);
  }
  try {
    new RegExp(match!);
  } catch (e) {
    throw new WeightbridgeError("usage", `--layer '${spec}': '${match}' is not a regular expression (${(e as Error).message})`);
  }
  const override: KindOverride = { match: match!, kind: canonical };
  if (attrs !== undefined && attrs.trim() !== "") override.attributes = parseAttributes(attrs, spec);
  return override;
}

/** `NAME=VALUE, ...`; a part without `=` continues the previous value as a tuple (`flatten=64,7,7`). */
function parseAttributes(text: string, spec: string): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  let last: string | undefined;
  const scalar = (raw: string): JsonValue => (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : raw === "true" ? true : raw === "false" ? false : raw);
  for (const part of text.split(",")) {
    const at = part.indexOf("=");
    if (at < 0 && last !== undefined && part.trim() !== "") {
      const previous = out[last]!;
      out[last] = [...(Array.isArray(previous) ? previous : [previous]), scalar(part.trim())];
      continue;
    }
    const name = part.slice(0, at).trim();
    const raw = part.slice(at + 1).trim();
    if (at <= 0 || !/^[A-Za-z_]\w*$/.test(name) || raw === "") {
      throw new WeightbridgeError("usage", `--layer '${spec}': attribute '${part.trim()}' is not NAME=VALUE`);
    }
    out[name] = scalar(raw);
    last = name;
  }
  return out;
}

/** Sets the kind of every item whose name an override matches (first override wins). */
export function applyLayerOverrides(items: Tracked[], specs: readonly string[] | undefined, warnings: string[]): Tracked[] {
  if (!specs?.length) return items;
  const overrides = specs.map(parseLayerOverride);
  const compiled = compileOverrides(overrides, "--layer").map((o, i) => ({ ...o, label: `--layer '${specs[i]}'` }));
  const kinds = inferKinds(
    items.map((i) => i.tensor),
    undefined,
    compiled,
  );
  for (const o of compiled) if (!items.some((i) => o.regex.test(i.tensor.name))) warnings.push(`${o.label} matches no tensor`);
  return items.map((item) => {
    const k = kinds.get(item.tensor.name);
    return k?.evidence === "override" ? { ...item, kind: k } : item;
  });
}
