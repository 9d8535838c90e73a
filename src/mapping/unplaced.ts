import { appendAll } from "../util/arrays.js";
import { WeightbridgeError } from "../errors.js";
import type { MappingRun } from "./run.js";
import type { Tracked } from "./tracked.js";
import { isInputGraphConstant } from "./template.js";
import { layerFlagAdvice } from "./layer-advice.js";
import { nonWeightReason } from "../tensor/non-weights.js";

export { nonWeightReason };

// Tensors a preset chain has no rule for would be written under their source names, which the
// target framework does not load: a quiet loss. Known non-weights (training metrics, quantizer
// state, optimizer state and counters in a weights-only output) are dropped with a report line;
// anything else stops the conversion, unless --keep-unmapped asks to write them as they are.

/** After the rule sets, without a template: drop known non-weights, refuse the rest (unless keepUnmapped). */
export function settleUnplaced(run: MappingRun): void {
  if (run.options.template || run.optimizer?.written || !run.ruleSets.some((r) => r.set.exhaustive) || run.unmatched.length === 0) return;
  const unmatched = new Set(run.unmatched);
  const dropped = run.items.filter((i) => unmatched.has(i.tensor.name) && nonWeightReason(i.tensor.name) !== undefined);
  if (dropped.length) {
    const reasons = [...new Set(dropped.map((d) => nonWeightReason(d.tensor.name)!))];
    run.warnings.push(`dropped ${dropped.length} tensor(s) that are not model weights (${reasons.join(", ")}): ${few(dropped.map((d) => d.tensor.name))}`);
    run.items = run.items.filter((i) => !dropped.includes(i));
    appendAll(run.dropped, dropped);
    run.unmatched = run.unmatched.filter((n) => !dropped.some((d) => d.tensor.name === n));
  }
  if (run.unmatched.length && !run.options.keepUnmapped) {
    const chain = run.ruleSets.map((r) => r.label).join(",");
    const advice = layerFlagAdvice(run.items, run.unmatched);
    throw new WeightbridgeError(
      "mapping",
      `${run.unmatched.length} tensor(s) no rule of ${chain} places: ${few(run.unmatched)}; written under their own names the target would not load them. ` +
        (advice ? `${advice}; otherwise add` : "Add") +
        ` rules for them (--map ${chain},rules.json) or pass --keep-unmapped to write them as they are`,
      { tensor: run.unmatched[0] },
    );
  }
}

/**
 * `--template`: source tensors the template has no place for are not written. Known non-weights
 * go to `dropped` with a report line; anything else is a loss, refused naming it unless
 * --allow-drop (then listed in `dropped` too). They stay listed as `unmatched`, which `--strict` refuses.
 */
export function settleTemplateLeftovers(run: MappingRun, leftovers: readonly Tracked[]): void {
  if (leftovers.length === 0 || run.options.strict) return;
  const reason = (i: Tracked) => nonWeightReason(i.tensor.name) ?? (isInputGraphConstant(i.tensor) ? "graph constants of the input's graph" : undefined);
  const nonWeights = leftovers.filter((i) => reason(i) !== undefined);
  const losses = leftovers.filter((i) => reason(i) === undefined);
  if (nonWeights.length) {
    const reasons = [...new Set(nonWeights.map((d) => reason(d)!))];
    run.warnings.push(
      `dropped ${nonWeights.length} tensor(s) the template has no place for that are not model weights (${reasons.join(", ")}): ${few(nonWeights.map(nameOf))}`,
    );
    appendAll(run.dropped, nonWeights);
  }
  if (losses.length === 0) return;
  if (!run.options.allowDrop) {
    throw new WeightbridgeError(
      "template-mismatch",
      `${losses.length} tensor(s) of the input have no place in the template and would be lost: ${few(losses.map(nameOf))}; ` +
        "give a template of the same model (or map them onto its names with --map), or pass --allow-drop to convert without them",
      { tensor: nameOf(losses[0]!) },
    );
  }
  run.warnings.push(`${losses.length} tensor(s) have no place in the template and were left out (--allow-drop): ${few(losses.map(nameOf))}`);
  appendAll(run.dropped, losses);
}

const nameOf = (i: Tracked) => i.sources.join("+") || i.tensor.name;

function few(names: string[]): string {
  return names.length > 5 ? `${names.slice(0, 5).join(", ")} … (${names.length} in all)` : names.join(", ");
}
