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
  warnings: string[];
}
