import type { TensorReport } from "../api/report.js";
import { WeightbridgeError } from "../errors.js";
import type { ShapeMismatch } from "./template.js";
import type { Tracked } from "./tracked.js";

/** What mapping did, in the shape of ConversionReport's fields. */
export interface MappingReport {
  tensors: TensorReport[];
  unmatched: string[];
  missing: string[];
  dropped: string[];
  added: string[];
  mismatched: ShapeMismatch[];
  warnings: string[];
}

export function tensorReport(item: Tracked): TensorReport {
  const t = item.tensor;
  const r: TensorReport = {
    source: item.sources[0] ?? "",
    target: t.name,
    shape: item.sourceShape,
    dtype: item.sourceDtype,
    targetDtype: t.dtype,
    transforms: [...item.transforms],
  };
  if (item.sources.length !== 1) r.sources = [...item.sources];
  if (!sameShape(item.sourceShape, t.shape)) r.targetShape = [...t.shape];
  if (item.rules.length) r.rules = [...item.rules];
  if (item.kind) {
    r.kind = item.kind.kind;
    r.kindEvidence = item.kind.evidence;
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

/** A few lines for stderr: counts, and the lists that need a human's eye. */
export function summarizeMapping(report: Pick<MappingReport, "tensors" | "unmatched" | "missing" | "dropped"> & Partial<MappingReport>): string[] {
  const lines: string[] = [];
  const transformed = report.tensors.filter((t) => t.transforms.length > 0).length;
  const renamed = report.tensors.filter((t) => t.source !== t.target).length;
  const guessed = report.tensors.filter((t) => t.heuristics?.length).length;
  lines.push(`mapping: ${report.tensors.length} tensors out, ${renamed} renamed, ${transformed} transformed, ${report.dropped.length} dropped, ${report.added?.length ?? 0} added`);
  if (guessed) lines.push(`mapping: ${guessed} tensors relied on heuristics (see --report for which)`);
  const show = (label: string, names: string[]) => {
    if (names.length) lines.push(`mapping: ${label}: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ` … (${names.length})` : ""}`);
  };
  show("unmatched", report.unmatched);
  show("missing", report.missing);
  show("shape mismatch", (report.mismatched ?? []).map((m) => m.target));
  return lines;
}
