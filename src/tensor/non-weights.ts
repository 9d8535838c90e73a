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
 * A re-weighting writer (ONNX, TF checkpoint, TFLite) copies the template: a template weight the
 * input gives no value keeps the template's, so the output computes neither model. That is
 * refused, naming them, unless the caller asked to keep the template's values
 * (`--keep-template-values`); known non-weights (optimizer slots, counters) keep theirs freely.
 */
export function settleKeptTemplateValues(kept: readonly string[], options: { keepTemplateValues?: boolean; warn?(message: string): void }, file: string): void {
  const weights = kept.filter((name) => nonWeightReason(name) === undefined);
  if (weights.length === 0) return;
  const listed = `${weights.slice(0, 5).join(", ")}${weights.length > 5 ? ` and ${weights.length - 5} more` : ""}`;
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
