import type { MappingReport } from "../mapping/index.js";

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
  /** Set by a verification of the output (`convert --verify`): one row per layer. */
  verification?: VerificationReport;
}

/** How the converted tensors compare with the source when each layer is run on the same input. */
export interface VerificationReport {
  /** Relative tolerance a layer's outputs had to meet. */
  rtol: number;
  /** True when every checkable layer agreed within the tolerance. */
  passed: boolean;
  rows: VerificationRow[];
}

export interface VerificationRow {
  /** The layer's name (source side). */
  layer: string;
  /** Its layer kind (the canonical vocabulary of tensor/layer-kinds.ts), when known. */
  kind?: string;
  /** The source tensors and the output tensors that make up the layer (the report's source/target names). */
  sources: string[];
  targets: string[];
  /** "agrees"/"disagrees" within rtol; "not-checkable" with `reason` (unknown kind, unsupported layer ...). */
  verdict: "agrees" | "disagrees" | "not-checkable";
  maxAbsError?: number;
  maxRelError?: number;
  reason?: string;
}
