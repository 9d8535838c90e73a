import { WeightbridgeError } from "../errors.js";
import { nonWeightReason } from "../tensor/non-weights.js";
import type { WriteOptions } from "./types.js";

/**
 * A re-weighting writer (ONNX, TF checkpoint, TFLite) copies the template: a template weight the
 * input gives no value keeps the template's, so the output computes neither model. That is
 * refused, naming them, unless the caller asked to keep the template's values
 * (`--keep-template-values`); known non-weights (optimizer slots, counters) keep theirs freely.
 */
export function settleKeptTemplateValues(kept: readonly string[], options: WriteOptions, file: string): void {
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
