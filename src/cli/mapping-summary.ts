import type { MappingReport } from "../api/report.js";

/** A few lines for stderr: counts, the lists that need a human's eye, and where the full report is. */
export function summarizeMapping(report: MappingReport, reportPath?: string): string[] {
  const lines: string[] = [];
  const mapped = report.tensors.filter((t) => t.rules?.length || t.matchedBy).length;
  const renamed = report.tensors.filter((t) => t.source !== t.target).length;
  const transposed = report.tensors.filter((t) => t.transforms.some((x) => x.startsWith("transpose"))).length;
  const otherwise = report.tensors.filter((t) => t.transforms.length > 0 && !t.transforms.some((x) => x.startsWith("transpose"))).length;
  lines.push(
    `mapping: ${report.tensors.length} tensors out: ${mapped} mapped (${renamed} renamed, ${transposed} transposed, ${otherwise} otherwise transformed), ` +
      `${report.dropped.length} dropped, ${report.added.length} added, ${report.unmatched.length} unmatched`,
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
        ? `mapping: optimizer state of ${report.optimizer.parameters} parameters (${report.optimizer.from}) written as ${report.optimizer.training ? "a torch training checkpoint (model_state_dict + optimizer_state_dict)" : report.optimizer.to ? "a torch optimizer state_dict" : "Paddle accumulators"}`
        : report.optimizer.unconvertible
          ? `mapping: optimizer state (${report.optimizer.from}) left out: ${report.optimizer.unconvertible}`
          : `mapping: optimizer state (${report.optimizer.from}) left out; convert to a ${report.optimizer.to ? ".tar (torch training checkpoint)" : ".pdopt"} to get it`,
    );
  }
  const show = (label: string, names: string[]) => {
    if (names.length) lines.push(`mapping: ${label}: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ` … (${names.length})` : ""}`);
  };
  show("unmatched", report.unmatched);
  show("missing", report.missing);
  show(
    "shape mismatch",
    report.mismatched.map((m) => m.target),
  );
  lines.push(reportPath ? `mapping: full report in ${reportPath}` : "mapping: per-tensor details with --report FILE.json");
  return lines;
}
