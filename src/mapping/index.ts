import type { Checkpoint } from "../tensor/checkpoint.js";
import { turnIfDue, turnIfLate } from "../util/event-loop.js";
import { compileRuleSet } from "./engine.js";
import { loadRuleSets } from "./presets.js";
import { track } from "./tracked.js";
import { convertOptimizerState } from "./optimizer-passes.js";
import { settleUnplaced } from "./unplaced.js";
import { noteBatchNormEpsilon } from "./batchnorm-eps.js";
import { noteBidirectionalMerge } from "./bidirectional-merge.js";
import { restoreBatchCounters } from "./batch-counters.js";
import type { MapOptions, MappingRun, MappingStep } from "./run.js";
import type { MappingOutcome } from "./report.js";
import { buildTemplateTensors } from "./template-inverse.js";
import {
  applyRuleSets,
  castFloats,
  checkStrict,
  followTemplate,
  kerasLegacyNames,
  listUnmatched,
  mappedCheckpoint,
  mappingReport,
  overrideLayerKinds,
  renamePrefixes,
} from "./steps.js";

export { loadRuleSets, presetInfo, presetNames, validateRuleSet, type PresetInfo } from "./presets.js";
export { matchTemplate } from "./template.js";
import { tensorReport } from "./report.js";
export { assertStrict, type MappingReport, type MappingOutcome, type TensorReport, type OptimizerReport } from "./report.js";
export { parseLayerOverride } from "./layer-overrides.js";
export { carryBatchCounters } from "./batch-counters.js";
export type { MapOptions } from "./run.js";
export type { PrefixReport } from "./prefix.js";
export type { ShapeMismatch } from "./template.js";
export type { RuleSet, Rule, Transform, OptimizerPass } from "./types.js";

/** What mapCheckpoint does, in order. */
const STEPS: readonly MappingStep[] = [
  renamePrefixes,
  overrideLayerKinds,
  kerasLegacyNames,
  convertOptimizerState,
  applyRuleSets,
  restoreBatchCounters,
  listUnmatched,
  buildTemplateTensors,
  settleUnplaced,
  followTemplate,
  noteBatchNormEpsilon,
  noteBidirectionalMerge,
  checkStrict,
  castFloats,
];

/**
 * Source checkpoint → target names, layouts and dtypes, by the steps above. Tensor bytes stay
 * lazy; nothing is read here.
 */
export async function mapCheckpoint(source: Checkpoint, options: MapOptions = {}): Promise<MappingOutcome> {
  const ruleSets = (await loadRuleSets(options.map)).map((r) => compileRuleSet(r.set, r.label));
  const run: MappingRun = {
    source,
    options,
    ruleSets,
    items: await eachWithTurns(source.tensors, track),
    dropped: [],
    warnings: [],
    unmatched: [],
    missing: [],
    mismatched: [],
  };
  // Each step is a pass over all the tensors: between them signals are served (10^6 tensors take seconds).
  for (const step of STEPS) {
    step(run);
    await turnIfLate();
  }
  const checkpoint = mappedCheckpoint(run);
  await turnIfLate();
  return { checkpoint, report: mappingReport(run, await eachWithTurns(run.items, tensorReport)) };
}

/** `items.map(f)` with turns of the event loop (signals): 10^6 tensors took 1-4 s in one such call. */
async function eachWithTurns<T, U>(items: readonly T[], f: (item: T) => U): Promise<U[]> {
  const out = new Array<U>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = f(items[i]!);
    const turn = turnIfDue();
    if (turn) await turn;
  }
  return out;
}
