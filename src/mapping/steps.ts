import { appendAll } from "../util/arrays.js";
import { conventionOf, namingOf } from "../vocabulary/conventions.js";
import { castTensor } from "../kernels/cast-tensor.js";
import { isFloating } from "../tensor/dtype.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import { runRuleSets } from "./engine.js";
import { applyPrefixes } from "./prefix.js";
import { applyLayerOverrides } from "./layer-overrides.js";
import { legacyKerasNames } from "./keras3-names.js";
import { matchTemplate, type ShapeMismatch } from "./template.js";
import { WeightbridgeError } from "../errors.js";
import { assertStrict, type MappingReport, type TensorReport } from "./report.js";
import type { MappingRun } from "./run.js";
import { settleTemplateLeftovers } from "./unplaced.js";

// The steps of mapCheckpoint, in the order it runs them (optimizer-passes.ts holds the one
// between Keras names and rule sets). Each reads the run and leaves its result on it.

/** `--strip-prefix` / `--add-prefix`; a torch wrapper's prefix left on every name is pointed out. */
export function renamePrefixes(run: MappingRun): void {
  const prefixed = applyPrefixes(run.items, run.options, run.warnings);
  run.items = prefixed.items;
  if (prefixed.report) run.prefixes = prefixed.report;
  const wrapper = wrapperPrefix(run);
  if (wrapper) {
    run.warnings.push(
      `every tensor name starts with '${wrapper.prefix}' (${wrapper.what}): the target's layers would be named '${wrapper.example}'; ` +
        `pass --strip-prefix ${wrapper.prefix} to drop it`,
    );
  }
}

/** A wrapper prefix (torch's `module.`, `_orig_mod.`) on every name of a source mapped to another framework. */
function wrapperPrefix(run: MappingRun): { prefix: string; what: string; example: string } | undefined {
  const from = run.ruleSets[0]?.set.from;
  const to = run.ruleSets.at(-1)?.set.to;
  const wrappers = conventionOf(from)?.wrapperPrefixes ?? [];
  if (wrappers.length === 0 || !to || to === from || run.items.length === 0) return undefined;
  const names = run.items.filter((i) => i.tensor.role !== "optimizer").map((i) => i.tensor.name);
  const found = wrappers.find(([prefix]) => names.length > 0 && names.every((n) => n.startsWith(prefix)));
  if (!found) return undefined;
  const [prefix, what] = found;
  return { prefix, what, example: names[0]!.slice(0, names[0]!.lastIndexOf(".")) };
}

/** `--layer REGEX=KIND`. */
export function overrideLayerKinds(run: MappingRun): void {
  run.items = applyLayerOverrides(run.items, run.options.layers, run.warnings);
}

/** Keras 3 object paths (`layers/dense/vars/0`) get the Keras 2 names the keras rule sets know. */
export function kerasLegacyNames(run: MappingRun): void {
  if (namingOf(run.ruleSets[0]?.set.from) === "keras-path") run.items = legacyKerasNames(run.items, run.warnings);
}

/** The rule sets in order (an optimizer pass that made the output already ran them on each moment). */
export function applyRuleSets(run: MappingRun): void {
  if (run.optimizer?.written) return;
  const outcome = runRuleSets(run.items, run.ruleSets);
  run.items = outcome.items;
  appendAll(run.dropped, outcome.dropped);
}

/** Without an exhaustive rule set in the chain, unmatched means "no rule at all". */
export function listUnmatched(run: MappingRun): void {
  const exhaustive = run.ruleSets.some((r) => r.set.exhaustive);
  const unmatched = (i: MappingRun["items"][number]) => (exhaustive ? i.unmatchedBy !== undefined : run.ruleSets.length > 0 && !i.matched);
  run.unmatched = run.items.filter((i) => !i.added && unmatched(i)).map((i) => i.tensor.name);
}

/** `--template`: land on the target file's names and order (its parameters, so not for optimizer state). */
export function followTemplate(run: MappingRun): void {
  const template = run.options.template;
  if (!template || run.optimizer?.written) return;
  const t = matchTemplate(run.items, template);
  settleMismatched(run, t.mismatched);
  run.items = t.items;
  // With a template, "unmatched" means: no place in the target (and so not written).
  run.unmatched = t.unmatched.map((i) => i.tensor.name);
  appendAll(run.dropped, t.dropped);
  settleTemplateLeftovers(run, t.unmatched);
  run.missing = t.missing.filter((name) => !run.templateNotWeights?.has(name));
  run.mismatched = t.mismatched;
  appendAll(
    run.warnings,
    t.dtypeChanges.map((d) => `template dtype differs: ${d}`),
  );
}

/**
 * A tensor whose template namesake has another shape would be left out (a re-weighted template
 * keeping its own value): refused with both shapes unless --allow-drop, which lists it as dropped.
 */
function settleMismatched(run: MappingRun, mismatched: readonly ShapeMismatch[]): void {
  if (mismatched.length === 0) return;
  if (!run.options.allowDrop && !run.options.strict) {
    const m = mismatched[0]!;
    throw new WeightbridgeError(
      "template-mismatch",
      `${m.source} is [${m.shape.join(", ")}] but the template's ${m.target} is [${m.templateShape.join(", ")}]` +
        `${mismatched.length > 1 ? ` (and ${mismatched.length - 1} more shape mismatch(es))` : ""}: the template is of another model; ` +
        "give a template of the same model, or --allow-drop to leave such tensors out",
      { tensor: m.source },
    );
  }
  const sources = new Set(mismatched.map((m) => m.source));
  appendAll(
    run.dropped,
    run.items.filter((i) => sources.has(i.sources.join("+") || i.tensor.name)),
  );
}

/** `--strict`: anything unmatched, missing or mismatched is an error. */
export function checkStrict(run: MappingRun): void {
  if (run.options.strict) assertStrict(run);
}

/** `--dtype`: every floating tensor cast, the cast recorded like any other transform. */
export function castFloats(run: MappingRun): void {
  const dtype = run.options.dtype;
  if (!dtype) return;
  run.items = run.items.map((item) => {
    const t = item.tensor;
    if (!isFloating(t.dtype)) return item;
    const cast = castTensor(t, dtype);
    if (cast.dtype === t.dtype) return item;
    return { ...item, tensor: cast, transforms: [...item.transforms, `cast(${t.dtype}→${cast.dtype})`] };
  });
}

export function mappingReport(run: MappingRun, tensors: TensorReport[]): MappingReport {
  const report: MappingReport = {
    tensors,
    unmatched: run.unmatched,
    missing: run.missing,
    dropped: run.dropped.flatMap((d) => d.sources),
    added: run.items.filter((i) => i.added).map((i) => i.tensor.name),
    mismatched: run.mismatched,
    warnings: run.warnings,
  };
  if (run.prefixes) report.prefixes = run.prefixes;
  if (run.optimizer) report.optimizer = run.optimizer;
  return report;
}

/** The mapped checkpoint: the source's fields with the run's tensors (and an optimizer pass's meta/nesting). */
export function mappedCheckpoint(run: MappingRun): Checkpoint {
  const { source } = run;
  const checkpoint: Checkpoint = { ...source, tensors: run.items.map((i) => i.tensor) };
  const changed = run.ruleSets.length > 0 || run.options.template !== undefined || run.prefixes !== undefined || run.optimizer !== undefined;
  // The source's nesting names the source's tensors; after renaming it would point nowhere.
  if (changed && !sameNames(source, checkpoint)) delete checkpoint.structure;
  if (run.optimizerOutput) Object.assign(checkpoint, run.optimizerOutput);
  return checkpoint;
}

function sameNames(a: Checkpoint, b: Checkpoint): boolean {
  return a.tensors.length === b.tensors.length && a.tensors.every((t, i) => t.name === b.tensors[i]!.name);
}
