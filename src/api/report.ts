import type { DType } from "../tensor/dtype.js";

/** One tensor's journey through a conversion. */
export interface TensorReport {
  source: string;
  target: string;
  shape: number[];
  dtype: DType;
  targetDtype: DType;
  targetShape?: number[];
  transforms: string[];
  /** All source tensors it was made from, when a rule combined several (or none: added). */
  sources?: string[];
  /** Mapping rules that applied (`torch2keras#dense-kernel`). */
  rules?: string[];
  /** The layer kind that decided the rule, and what decided the kind. */
  kind?: string;
  kindEvidence?: "hint" | "override" | "heuristic";
  /** The heuristic that decided the kind (kindEvidence "heuristic"). */
  kindHeuristic?: string;
  /** The override that decided the kind (`--layer '...'` or a rule file's `kinds[i]`). */
  kindOverride?: string;
  /** Named heuristics the mapping relied on for this tensor. */
  heuristics?: string[];
  /** How a `--template` entry was found for it (name, normalized name, layer order + shape ...). */
  matchedBy?: string;
}

/** What `convert` did, written by `--report`. */
export interface ConversionReport {
  input: string;
  output: string;
  from: string;
  to: string;
  tensors: TensorReport[];
  /** Source tensors no rule or template entry matched (carried under their own names). */
  unmatched: string[];
  /** Names the target or template expects that the source did not provide. */
  missing: string[];
  /** Source tensors deliberately left out. */
  dropped: string[];
  /** Tensors the target expects that mapping created (e.g. `num_batches_tracked`). */
  added?: string[];
  /** Same name in source and template but different shapes. */
  mismatched?: Array<{ source: string; target: string; shape: number[]; templateShape: number[] }>;
  /** What `--strip-prefix` / `--add-prefix` did. */
  prefixes?: { strip: string[]; add?: string; stripped: number; added: number };
  /** A training checkpoint's optimizer state (torch2paddle): where it was and whether it was written. */
  optimizer?: { from: string; parameters: number; written: boolean };
  warnings: string[];
}
