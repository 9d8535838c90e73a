import type { Checkpoint } from "../tensor/checkpoint.js";
import { compileRuleSet, runRuleSets } from "./engine.js";
import { loadRuleSets } from "./presets.js";
import { matchTemplate } from "./template.js";
import { assertStrict, tensorReport, type MappingReport } from "./report.js";
import { track, type Tracked } from "./tracked.js";
import { applyPrefixes, type PrefixOptions } from "./prefix.js";
import { applyLayerOverrides } from "./layer-overrides.js";
import { legacyKerasNames } from "./keras3-names.js";
import { findTorchTraining, parameterCount, torchOptimizerToPaddle } from "./optimizer.js";
import { findPaddleOptimizer, paddleOptimizerToTorch } from "./optimizer-from-paddle.js";
import type { Structure, JsonObject } from "../tensor/checkpoint.js";

export { loadRuleSets, presetNames, validateRuleSet } from "./presets.js";
export { matchTemplate } from "./template.js";
export { assertStrict, summarizeMapping, type MappingReport } from "./report.js";
export { parseLayerOverride } from "./layer-overrides.js";
export type { PrefixReport } from "./prefix.js";
export type { RuleSet, Rule, Transform } from "./types.js";

export interface MapOptions extends PrefixOptions {
  /** Preset names or rule-file paths, applied in order; each may be comma-separated. */
  map?: string | string[];
  /** A checkpoint of the target framework whose names and order to land on. */
  template?: Checkpoint;
  /** Fail on anything unmatched, missing or shape-mismatched. */
  strict?: boolean;
  /** `REGEX=KIND` overrides of the layer kind of the tensors whose (source) name matches. */
  layers?: string[];
  /**
   * For a training checkpoint with optimizer state under torch2paddle: "model" keeps the model's
   * parameters (the default), "optimizer" makes the .pdopt accumulators instead.
   */
  part?: "model" | "optimizer";
  /** Adam's betas, for turning a .pdopt's beta pow accumulators back into torch's step (default 0.9, 0.999). */
  adamBetas?: [number, number];
}

export interface MappingOutcome {
  checkpoint: Checkpoint;
  report: MappingReport;
}

/**
 * Source checkpoint → target names and layouts: prefix options, layer overrides, rule sets in
 * order, then the template. Tensor bytes stay lazy; nothing is read here.
 */
export async function mapCheckpoint(source: Checkpoint, options: MapOptions = {}): Promise<MappingOutcome> {
  const ruleSets = (await loadRuleSets(options.map)).map((r) => compileRuleSet(r.set, r.label));
  const warnings: string[] = [];
  const prefixed = applyPrefixes(source.tensors.map(track), options, warnings);
  let items: Tracked[] = applyLayerOverrides(prefixed.items, options.layers, warnings);
  // Keras 3 object paths (`layers/dense/vars/0`) get the Keras 2 names the keras presets know.
  if (ruleSets[0]?.set.from === "keras") items = legacyKerasNames(items, warnings);
  const dropped: Tracked[] = [];
  let useTemplate = options.template !== undefined;
  let optimizer: MappingReport["optimizer"];

  const training = ruleSets.some((r) => r.label === "torch2paddle") ? findTorchTraining(items, source.meta) : undefined;
  if (training) {
    const optimizerItems = training.rest.filter((i) => i.tensor.name.startsWith(`${training.optimizerKey}.`));
    if (options.part === "optimizer") {
      items = torchOptimizerToPaddle(training, ruleSets, options.template, warnings);
      dropped.push(...training.model, ...training.rest.filter((i) => !optimizerItems.includes(i)));
      optimizer = { from: training.optimizerKey, parameters: parameterCount(training), written: true };
      // The template named the parameters; the accumulators have no place in it.
      useTemplate = false;
    } else {
      items = [...training.model, ...training.rest.filter((i) => !optimizerItems.includes(i))];
      dropped.push(...optimizerItems);
      optimizer = { from: training.optimizerKey, parameters: parameterCount(training), written: false };
      warnings.push(`optimizer state (${training.optimizerKey}) left out of the model; write it to a .pdopt to convert it`);
    }
  }
  // A .pdopt under paddle2torch becomes a torch optimizer state_dict (its own nesting).
  let optimizerShape: { structure: Structure; meta: JsonObject } | undefined;
  const pdopt = !training && ruleSets.some((r) => r.label === "paddle2torch") ? findPaddleOptimizer(items, source.meta) : undefined;
  if (pdopt) {
    const torch = paddleOptimizerToTorch(pdopt, ruleSets, options.template, options.adamBetas, warnings);
    items = torch.items;
    optimizer = { from: "Paddle accumulators", parameters: torch.parameters, written: true, to: "torch" };
    optimizerShape = { structure: torch.structure, meta: torch.meta };
    useTemplate = false;
  }
  const model = optimizer?.written ? { items, dropped: [] } : runRuleSets(items, ruleSets);
  items = model.items;
  dropped.push(...model.dropped);

  const exhaustive = ruleSets.some((r) => r.set.exhaustive);
  let unmatched = items.filter((i) => !i.added && (exhaustive ? i.unmatchedBy !== undefined : ruleSets.length > 0 && !i.matched)).map((i) => i.tensor.name);
  let missing: string[] = [];
  let mismatched: MappingReport["mismatched"] = [];
  if (options.template && useTemplate) {
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
  if (prefixed.report) report.prefixes = prefixed.report;
  if (optimizer) report.optimizer = optimizer;
  if (options.strict) assertStrict(report);
  const changed = ruleSets.length > 0 || options.template !== undefined || prefixed.report !== undefined || optimizer !== undefined;
  const checkpoint: Checkpoint = { ...source, tensors: items.map((i) => i.tensor) };
  // A .pdopt holds the accumulators only (epochs, param_groups ... have no place there).
  if (optimizer?.written) checkpoint.meta = {};
  // The source's nesting names the source's tensors; after renaming it would point nowhere.
  if (changed && !sameNames(source, checkpoint)) delete checkpoint.structure;
  if (optimizerShape) Object.assign(checkpoint, optimizerShape);
  return { checkpoint, report };
}

function sameNames(a: Checkpoint, b: Checkpoint): boolean {
  return a.tensors.length === b.tensors.length && a.tensors.every((t, i) => t.name === b.tensors[i]!.name);
}
