import type { MappingReport } from "../mapping/index.js";
import type { VerifyOutcome } from "../verify/index.js";

export type { MappingReport, TensorReport, OptimizerReport, PrefixReport, ShapeMismatch } from "../mapping/index.js";

/**
 * What `convert` did, written by `--report`: the mapping's report (every tensor's source, target,
 * rules and transforms including casts; unmatched/missing/dropped/added lists; prefixes;
 * optimizer state) plus which files and formats, and, after `--verify`, the numerical check.
 * `warnings` holds the reader's, the mapping's and the writer's notes, in that order.
 */
export interface ConversionReport extends MappingReport {
  input: string;
  output: string;
  /** Format id of the input (detected or `--from`), "unknown" when the reader did not say. */
  from: string;
  /** Format id of the output. */
  to: string;
  /**
   * Set when the output was verified (`convert --verify`): one row per layer (layer, kind,
   * source → target names, max abs/rel error, verdict) and the summary; see verify/.
   */
  verification?: VerifyOutcome;
}
