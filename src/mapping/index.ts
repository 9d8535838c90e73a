import type { Checkpoint } from "../tensor/checkpoint.js";
import { applyRuleSet, compileRuleSet } from "./engine.js";
import { loadRuleSets } from "./presets.js";
import { matchTemplate } from "./template.js";
import { assertStrict, tensorReport, type MappingReport } from "./report.js";
import { track, type Tracked } from "./tracked.js";

export { loadRuleSets, presetNames, validateRuleSet } from "./presets.js";
export { matchTemplate } from "./template.js";
export { assertStrict, summarizeMapping, type MappingReport } from "./report.js";
export type { RuleSet, Rule, Transform } from "./types.js";

export interface MapOptions {
  /** Preset names or rule-file paths, applied in order; each may be comma-separated. */
  map?: string | string[];
  /** A checkpoint of the target framework whose names and order to land on. */
  template?: Checkpoint;
  /** Fail on anything unmatched, missing or shape-mismatched. */
  strict?: boolean;
}

export interface MappingOutcome {
  checkpoint: Checkpoint;
  report: MappingReport;
}

/**
 * Source checkpoint → target names and layouts: rule sets in order, then the template.
 * Tensor bytes stay lazy; nothing is read here.
 */
export async function mapCheckpoint(source: Checkpoint, options: MapOptions = {}): Promise<MappingOutcome> {
  const ruleSets = (await loadRuleSets(options.map)).map((r) => compileRuleSet(r.set, r.label));
  let items: Tracked[] = source.tensors.map(track);
  const dropped: Tracked[] = [];
  for (const compiled of ruleSets) {
    const outcome = applyRuleSet(items, compiled);
    items = outcome.items;
    dropped.push(...outcome.dropped.filter((d) => !d.added));
  }
  const warnings: string[] = [];
  const exhaustive = ruleSets.some((r) => r.set.exhaustive);
  let unmatched = items.filter((i) => !i.added && (exhaustive ? i.unmatchedBy !== undefined : ruleSets.length > 0 && !i.matched)).map((i) => i.tensor.name);
  let missing: string[] = [];
  let mismatched: MappingReport["mismatched"] = [];
  if (options.template) {
    const t = matchTemplate(items, options.template);
    items = t.items;
    // With a template, "unmatched" means: no place in the target (and so not written).
    unmatched = t.unmatched.map((i) => i.tensor.name);
    missing = t.missing;
    mismatched = t.mismatched;
    warnings.push(...t.dtypeChanges.map((d) => `template dtype differs: ${d}`));
    if (unmatched.length) warnings.push(`${unmatched.length} tensor(s) have no place in the template and were left out`);
  }
  const report: MappingReport = {
    tensors: items.map(tensorReport),
    unmatched,
    missing,
    dropped: dropped.flatMap((d) => d.sources),
    added: items.filter((i) => i.added).map((i) => i.tensor.name),
    mismatched,
    warnings,
  };
  if (options.strict) assertStrict(report);
  const changed = ruleSets.length > 0 || options.template !== undefined;
  const checkpoint: Checkpoint = { ...source, tensors: items.map((i) => i.tensor) };
  // The source's nesting names the source's tensors; after renaming it would point nowhere.
  if (changed && !sameNames(source, checkpoint)) delete checkpoint.structure;
  return { checkpoint, report };
}

function sameNames(a: Checkpoint, b: Checkpoint): boolean {
  return a.tensors.length === b.tensors.length && a.tensors.every((t, i) => t.name === b.tensors[i]!.name);
}
