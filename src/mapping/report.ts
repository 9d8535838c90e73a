import type { Checkpoint } from "../tensor/checkpoint.js";
import type { DType } from "../tensor/dtype.js";
import { WeightbridgeError } from "../errors.js";
import type { ShapeMismatch } from "./template.js";
import type { Tracked } from "./tracked.js";
import type { PrefixReport } from "./prefix.js";

/** One tensor's journey through a conversion. */
export interface TensorReport {
  source: string;
  target: string;
  shape: number[];
  dtype: DType;
  targetDtype: DType;
  targetShape?: number[];
  /** Every step that changed its layout, values or dtype, in order (`transpose(1,0)`, `cast(float32→float16)`). */
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

/** What mapping did to a checkpoint. `convert`'s ConversionReport is this plus input/output/from/to. */
export interface MappingReport {
  /** The tensors written, in output order. */
  tensors: TensorReport[];
  /** Source tensors no rule or template entry matched (carried under their own names, or left out with a template). */
  unmatched: string[];
  /** Names the target or template expects that the source did not provide. */
  missing: string[];
  /** Source tensors deliberately left out. */
  dropped: string[];
  /** Tensors the target expects that mapping created (e.g. `num_batches_tracked`). */
  added: string[];
  /** Same name in source and template but different shapes. */
  mismatched: ShapeMismatch[];
  warnings: string[];
  /** What `--strip-prefix` / `--add-prefix` did. */
  prefixes?: PrefixReport;
  /** A training checkpoint's optimizer state: where it was, and whether it is what was written. */
  optimizer?: OptimizerReport;
}

/** What mapping a checkpoint gives: the mapped checkpoint and the report of how each tensor got there. */
export interface MappingOutcome {
  checkpoint: Checkpoint;
  report: MappingReport;
}

export interface OptimizerReport {
  from: string;
  parameters: number;
  written: boolean;
  /** Set when the state was written for torch (from a .pdopt); otherwise it went to Paddle. */
  to?: "torch";
  /** Written with the model as one torch training checkpoint (model_state_dict + optimizer_state_dict). */
  training?: boolean;
  /** Set when no output can hold it (a Keras optimizer other than Adam, for torch): why. */
  unconvertible?: string;
}

// One empty list for all the rows without transforms (10^6 tiny tensors: an array each adds up); frozen, as rows are read only.
const NO_TRANSFORMS = Object.freeze([]) as unknown as string[];

export function tensorReport(item: Tracked): TensorReport {
  const t = item.tensor;
  const r: TensorReport = {
    source: item.sources[0] ?? "",
    target: t.name,
    shape: item.sourceShape,
    dtype: item.sourceDtype,
    targetDtype: t.dtype,
    transforms: item.transforms.length > 0 ? [...item.transforms] : NO_TRANSFORMS,
  };
  if (item.sources.length !== 1) r.sources = [...item.sources];
  if (!sameShape(item.sourceShape, t.shape)) r.targetShape = [...t.shape];
  if (item.rules.length) r.rules = [...item.rules];
  if (item.kind) {
    r.kind = item.kind.kind;
    r.kindEvidence = item.kind.evidence;
    if (item.kind.evidence === "heuristic" && item.kind.heuristic) r.kindHeuristic = item.kind.heuristic;
    if (item.kind.override) r.kindOverride = item.kind.override;
  }
  if (item.heuristics.length) r.heuristics = [...item.heuristics];
  if (item.matchedBy) r.matchedBy = item.matchedBy;
  return r;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * `--strict`: one error listing what `load_state_dict(strict=True)` would complain about.
 * Names are shown up to a handful per list; the report file has them all.
 */
export function assertStrict(report: Pick<MappingReport, "unmatched" | "missing" | "mismatched">): void {
  const parts: string[] = [];
  const few = (names: string[]) => (names.length > 5 ? `${names.slice(0, 5).join(", ")} … (${names.length} in all)` : names.join(", "));
  if (report.missing.length) parts.push(`missing keys: ${few(report.missing)}`);
  if (report.unmatched.length) parts.push(`unexpected (unmatched) keys: ${few(report.unmatched)}`);
  if (report.mismatched.length) {
    parts.push(`size mismatch: ${few(report.mismatched.map((m) => `${m.target} [${m.shape.join(",")}] vs template [${m.templateShape.join(",")}]`))}`);
  }
  if (parts.length) throw new WeightbridgeError("template-mismatch", `--strict: ${parts.join("; ")}`);
}
