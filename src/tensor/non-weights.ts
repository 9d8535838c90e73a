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
