import type { ConversionReport, TensorReport } from "../../api/report.js";
import type { VerifyOutcome, VerifyRow } from "../../api/verify.js";
import { summarizeMapping } from "../../cli/mapping-summary.js";
import { fmt } from "../../verify/index.js";
import { el } from "./dom.js";

const shape = (s: number[]) => `[${s.join(", ")}]`;

function tensorRow(t: TensorReport): HTMLTableRowElement {
  const how = [
    ...(t.rules ?? []),
    ...(t.matchedBy ? [`template: ${t.matchedBy}`] : []),
    ...(t.kind ? [`kind ${t.kind}${t.kindEvidence ? ` (${t.kindEvidence})` : ""}`] : []),
  ].join("; ");
  return el(
    "tr",
    { "data-name": t.target },
    el("td", { class: "source" }, t.sources && t.sources.length > 1 ? t.sources.join(" + ") : t.source),
    el("td", { class: "target" }, t.target),
    el("td", { class: "shape" }, t.targetShape ? `${shape(t.shape)} → ${shape(t.targetShape)}` : shape(t.shape)),
    el("td", { class: "dtype" }, t.dtype === t.targetDtype ? t.dtype : `${t.dtype} → ${t.targetDtype}`),
    el("td", { class: "transforms" }, t.transforms.join(", ") || "—"),
    el("td", { class: "how" }, how || "—"),
  );
}

function table(head: string[], rows: HTMLTableRowElement[], className: string): HTMLElement {
  return el(
    "div",
    { class: "table-wrap" },
    el("table", { class: className }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, ...rows)),
  );
}

/** The mapping summary (the CLI's lines), warnings, and one row per tensor written. */
export function conversionReport(report: ConversionReport, how: string): HTMLElement[] {
  const lines = [`${report.from} → ${report.to}: ${report.tensors.length} tensors written, ${how}`, ...summarizeMapping(report, "the table below")];
  return [
    el("pre", { class: "summary" }, lines.join("\n")),
    report.warnings.length ? el("ul", { class: "report-warnings" }, ...report.warnings.map((w) => el("li", {}, w))) : undefined,
    table(["source", "target", "shape", "dtype", "transforms", "rule / evidence"], report.tensors.map(tensorRow), "report-table"),
  ].filter((x): x is HTMLElement => x !== undefined);
}

const VERDICT: Record<VerifyRow["verdict"], string> = { agrees: "ok", disagrees: "FAIL", "not-checkable": "not checkable" };

function verifyRow(r: VerifyRow): HTMLTableRowElement {
  return el(
    "tr",
    { "data-name": r.layer || "(root)", "data-verdict": r.verdict },
    el("td", {}, r.layer || "(root)"),
    el("td", {}, r.kind ?? "?"),
    el("td", {}, `${r.source.join(", ")} → ${r.target.join(", ")}`),
    el("td", {}, r.maxAbs === undefined ? "" : fmt(r.maxAbs)),
    el("td", {}, r.maxRel === undefined ? "" : fmt(r.maxRel)),
    el("td", { class: "verdict" }, VERDICT[r.verdict] + (r.reason ? `: ${r.reason}` : "")),
  );
}

/** verify's summary line and its per-layer rows. */
export function verificationReport(outcome: VerifyOutcome): HTMLElement[] {
  return [
    el("p", { class: `verify-summary ${outcome.ok ? "pass" : "fail"}` }, `${outcome.ok ? "pass" : "FAIL"}: ${outcome.summary}`),
    table(
      ["layer", "kind", `${outcome.sourceFramework} → ${outcome.targetFramework}`, "max abs", "max rel", "verdict"],
      outcome.rows.map(verifyRow),
      "verify-table",
    ),
  ];
}
