import { WeightbridgeError } from "../errors.js";

// State that is not a model weight, known by its name: losing it in a weights conversion is no loss.

/** Names of state that is not a model weight: metrics, quantizer and optimizer state, counters. */
const NON_WEIGHTS: Array<[RegExp, string]> = [
  [/(^|[./])(optimizer(_weights|_state_dict|_states)?|optim|opt_state)([./]|$)|(^|[./])beta[12]_power(:\d+)?$/i, "optimizer state"],
  [/(^|[./])(metrics?|[a-z_]*_metric|(binary_|categorical_)?accuracy|auc|precision|recall)([./:]|$)/i, "metric"],
  [/_quantizer([./]|$)|(^|[./])quantizer([./]|$)|[./](bits|integer|keep_negative)(:\d+)?$/i, "quantizer state"],
  [/(^|[./])(iterations|global_step|save_counter|num_batches_tracked|seed_generator_state|epoch|step)(:\d+)?$/i, "counter"],
];

export function nonWeightReason(name: string): string | undefined {
  return NON_WEIGHTS.find(([re]) => re.test(name))?.[1];
}

/**
 * Input tensors a re-weighting writer finds no place for in its template are not written: a loss,
 * refused naming them, unless each is a known non-weight or the caller allows drops (`--allow-drop`).
 * `strict` refuses them all.
 */
export function settleUnwritten(
  unused: readonly string[],
  options: { allowDrop?: boolean; strict?: boolean; warn?(message: string): void },
  file: string,
): void {
  if (unused.length === 0) return;
  const losses = unused.filter((name) => nonWeightReason(name) === undefined);
  const message = `${unused.length} tensor(s) have no place in the template: ${few(unused)}`;
  if (options.strict || (losses.length > 0 && !options.allowDrop)) {
    throw new WeightbridgeError(
      "template-mismatch",
      `${message}; they would be lost${options.strict ? " (--strict)" : `: give a template of the same model, or pass --allow-drop to write without them`}`,
      { file, tensor: (losses[0] ?? unused[0])! },
    );
  }
  options.warn?.(`${message} (not written${losses.length ? ", --allow-drop" : ": not model weights"})`);
}

function few(names: readonly string[]): string {
  return `${names.slice(0, 5).join(", ")}${names.length > 5 ? ` and ${names.length - 5} more` : ""}`;
}

/**
 * A re-weighting writer (ONNX, TF checkpoint, TFLite) copies the template: a template weight the
 * input gives no value keeps the template's, so the output computes neither model. That is
 * refused, naming them, unless the caller asked to keep the template's values
 * (`--keep-template-values`); known non-weights (optimizer slots, counters) keep theirs freely.
 */
export function settleKeptTemplateValues(kept: readonly string[], options: { keepTemplateValues?: boolean; warn?(message: string): void }, file: string): void {
  const weights = kept.filter((name) => nonWeightReason(name) === undefined);
  if (weights.length === 0) return;
  const listed = few(weights);
  if (!options.keepTemplateValues) {
    throw new WeightbridgeError(
      "template-mismatch",
      `${weights.length} template weight(s) get no value from the input and would keep the template's: ${listed}; ` +
        "map the input's tensors onto them (the report's missing lists them) or pass --keep-template-values to keep the template's values",
      { file, tensor: weights[0] },
    );
  }
  options.warn?.(`${weights.length} template weight(s) got no value from the input and keep the template's (--keep-template-values): ${listed}`);
}
