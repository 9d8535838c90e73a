import { WeightbridgeError } from "../errors.js";
import type { Tracked } from "./tracked.js";

// `--strip-prefix` / `--add-prefix`: wrapper prefixes (DataParallel's `module.`, `model.`,
// Lightning's `model.`) come off or go on before any rule set sees the names.

export interface PrefixOptions {
  /** Prefixes to remove (the first that a name starts with is removed; names without one are kept). */
  stripPrefix?: string | readonly string[];
  /** A prefix to put on every name (after stripping). */
  addPrefix?: string;
}

export interface PrefixReport {
  strip: string[];
  add?: string;
  /** How many names lost a prefix, and how many gained one. */
  stripped: number;
  added: number;
}

const list = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === "string" ? [v] : [...v]);

/** Renames the items in place order; returns what was done (undefined when nothing was asked). */
export function applyPrefixes(items: Tracked[], options: PrefixOptions, warnings: string[]): { items: Tracked[]; report?: PrefixReport } {
  const strip = list(options.stripPrefix).filter((p) => p !== "");
  const add = options.addPrefix;
  if (strip.length === 0 && !add) return { items };
  if (list(options.stripPrefix).includes("")) throw new WeightbridgeError("usage", "--strip-prefix needs a non-empty prefix");
  const report: PrefixReport = { strip, stripped: 0, added: 0 };
  if (add) report.add = add;
  const out = items.map((item) => {
    let name = item.tensor.name;
    const rules = [...item.rules];
    const p = strip.find((s) => name.startsWith(s) && name.length > s.length);
    if (p) {
      name = name.slice(p.length);
      rules.push(`--strip-prefix ${p}`);
      report.stripped++;
    }
    if (add) {
      name = add + name;
      rules.push(`--add-prefix ${add}`);
      report.added++;
    }
    return name === item.tensor.name ? item : { ...item, rules, tensor: { ...item.tensor, name } };
  });
  if (strip.length && report.stripped === 0) warnings.push(`--strip-prefix ${strip.join(", ")}: no tensor name starts with it`);
  const seen = new Map<string, string>();
  for (const [i, item] of out.entries()) {
    const before = seen.get(item.tensor.name);
    if (before !== undefined) {
      throw new WeightbridgeError("mapping", `prefix options map both '${before}' and '${items[i]!.tensor.name}' to '${item.tensor.name}'`, {
        tensor: item.tensor.name,
      });
    }
    seen.set(item.tensor.name, items[i]!.tensor.name);
  }
  return { items: out, report };
}
