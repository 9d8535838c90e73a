import type { VerifyOutcome, VerifyRow } from "../api/verify.js";
import { fmt } from "../verify/index.js";

function names(list: string[]): string {
  if (list.length <= 2) return list.join(", ") || "-";
  return `${list[0]}, … (${list.length})`;
}

const VERDICT: Record<VerifyRow["verdict"], string> = { agrees: "ok", disagrees: "FAIL", "not-checkable": "not checkable" };

/** One line per layer: layer, kind, source → target names, max abs, max rel, verdict (and why). */
export function verifyTable(result: VerifyOutcome): string[] {
  const rows = result.rows.map((r) => [
    r.layer || "(root)",
    r.kind ?? "?",
    `${names(r.source)} → ${names(r.target)}`,
    r.maxAbs === undefined ? "" : fmt(r.maxAbs),
    r.maxRel === undefined ? "" : fmt(r.maxRel),
    VERDICT[r.verdict] + (r.reason ? `: ${r.reason}` : ""),
  ]);
  const header = ["layer", "kind", `${result.sourceFramework} → ${result.targetFramework}`, "max abs", "max rel", "verdict"];
  const widths = header.map((h, i) => Math.min(i === 2 ? 60 : 40, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line), result.summary];
}
