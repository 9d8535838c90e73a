import type { ScanFinding, ScanResult } from "../api/scan.js";

const VERDICT: Record<ScanFinding["status"], string> = {
  dangerous: "DANGEROUS: could run code (never executed by weightbridge)",
  unknown: "class rebuilt as data (never called)",
  known: "known constructor",
  "paddle-eval": "Paddle eval('name', {...}) lookup (data only)",
  unreadable: "UNREADABLE: cannot be shown safe",
  unsupported: "UNSUPPORTED: cannot look inside, so cannot be shown safe",
  structure: "STRUCTURE: a layout no framework writes (a structural attack)",
  cycle: "a container that holds itself (Python writes these; harmless)",
};

/** Findings a terse scan leaves out: globals that are data (known constructors, classes rebuilt inertly, Paddle's lookups) and harmless cycles. */
const ROUTINE: ReadonlySet<ScanFinding["status"]> = new Set(["known", "unknown", "paddle-eval", "cycle"]);

/** What `scan` prints: one line per finding that needs attention (every global with `verbose`), then a summary line. */
export function scanLines(result: ScanResult, verbose = true): string[] {
  const shown = verbose ? result.findings : result.findings.filter((f) => !ROUTINE.has(f.status));
  const lines = shown.map((f) =>
    f.opcode === "-"
      ? `${result.file}:${f.pickle}: byte ${f.offset}: ${VERDICT[f.status]}: ${f.callable}`
      : `${result.file}:${f.pickle}: byte ${f.offset}: ${f.callable} (${f.opcode}): ${VERDICT[f.status]}${f.reason ? `: ${f.reason}` : ""}`,
  );
  const globals = result.findings.filter((f) => f.opcode !== "-").length;
  const unreadable = result.unproven.filter((f) => f.status === "unreadable").length;
  const unsupported = result.unproven.length - unreadable;
  const unproven = [unreadable ? `${unreadable} unreadable` : "", unsupported ? `${unsupported} unsupported` : ""].filter(Boolean).join(", ");
  const what =
    result.verdict === "none"
      ? "no pickles (nothing that could run code)"
      : `${result.pickles.length} pickle(s), ${globals} global(s), ${result.dangerous.length} dangerous${unproven ? `, ${unproven}: cannot be shown safe` : ""}`;
  const hidden = result.findings.length - shown.length;
  lines.push(`${result.file}: ${what}${hidden > 0 ? ` (${hidden} that only rebuild data not listed: --verbose lists every global)` : ""}`);
  return lines;
}
