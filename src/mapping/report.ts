import type { TensorReport } from "../api/report.js";
import { WeightbridgeError } from "../errors.js";
import type { ShapeMismatch } from "./template.js";
import type { Tracked } from "./tracked.js";
import type { PrefixReport } from "./prefix.js";

/** What mapping did, in the shape of ConversionReport's fields. */
export interface MappingReport {
  tensors: TensorReport[];
  unmatched: string[];
  missing: string[];
  dropped: string[];
  added: string[];
  mismatched: ShapeMismatch[];
  warnings: string[];
  /** What `--strip-prefix` / `--add-prefix` did. */
  prefixes?: PrefixReport;
  /** A training checkpoint's optimizer state: where it was, and whether it is what was written. */
  optimizer?: OptimizerReport;
}

export interface OptimizerReport {
  from: string;
  parameters: number;
  written: boolean;
  /** Set when the state was written for torch (from a .pdopt); otherwise it went to Paddle. */
  to?: "torch";
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

/** A few lines for stderr: counts, the lists that need a human's eye, and where the full report is. */
export function summarizeMapping(
  report: Pick<MappingReport, "tensors" | "unmatched" | "missing" | "dropped"> & Partial<MappingReport>,
  reportPath?: string,
): string[] {
  const lines: string[] = [];
  const mapped = report.tensors.filter((t) => t.rules?.length || t.matchedBy).length;
  const renamed = report.tensors.filter((t) => t.source !== t.target).length;
  const transposed = report.tensors.filter((t) => t.transforms.some((x) => x.startsWith("transpose"))).length;
  const otherwise = report.tensors.filter((t) => t.transforms.length > 0 && !t.transforms.some((x) => x.startsWith("transpose"))).length;
  lines.push(
    `mapping: ${report.tensors.length} tensors out: ${mapped} mapped (${renamed} renamed, ${transposed} transposed, ${otherwise} otherwise transformed), ` +
      `${report.dropped.length} dropped, ${report.added?.length ?? 0} added, ${report.unmatched.length} unmatched`,
  );
  const p = report.prefixes;
  if (p) {
    const parts = [];
    if (p.strip.length) parts.push(`stripped ${p.strip.map((x) => `'${x}'`).join("/")} from ${p.stripped} names`);
    if (p.add !== undefined) parts.push(`added '${p.add}' to ${p.added} names`);
    lines.push(`mapping: ${parts.join(", ")}`);
  }
  const by = (e: string) => report.tensors.filter((t) => t.kindEvidence === e).length;
  if (by("heuristic") || by("override")) {
    lines.push(`mapping: layer kinds: ${by("hint")} from the file's hints, ${by("heuristic")} guessed by heuristics, ${by("override")} set by overrides`);
  }
  if (report.optimizer) {
    lines.push(
      report.optimizer.written
        ? `mapping: optimizer state of ${report.optimizer.parameters} parameters (${report.optimizer.from}) written as ${report.optimizer.to === "torch" ? "a torch optimizer state_dict" : "Paddle accumulators"}`
        : `mapping: optimizer state (${report.optimizer.from}) left out; convert to a .pdopt to get it`,
    );
  }
  const show = (label: string, names: string[]) => {
    if (names.length) lines.push(`mapping: ${label}: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ` … (${names.length})` : ""}`);
  };
  show("unmatched", report.unmatched);
  show("missing", report.missing);
  show("shape mismatch", (report.mismatched ?? []).map((m) => m.target));
  lines.push(reportPath ? `mapping: full report in ${reportPath}` : "mapping: per-tensor details with --report FILE.json");
  return lines;
}
