import type { Checkpoint } from "../tensor/checkpoint.js";
import type { TensorReport } from "../api/report.js";
import type { Convention, KindInfo } from "../mapping/types.js";
import { looksKeras } from "../mapping/name-style.js";
import type { Framework } from "./reference.js";
import { pairLayers, withKerasNames } from "./pairing.js";
import { checkLayer, type CheckOptions, type VerifyRow } from "./check.js";

export type { VerifyRow, CheckOptions } from "./check.js";
export { referenceKinds } from "./references.js";

// Numerical proof of a conversion, layer by layer: each source layer and its converted
// counterpart are run through reference forward passes written from each framework's own
// semantics, on the same seeded input, and their outputs compared.

export interface VerifyOutcome {
  rows: VerifyRow[];
  /** True when no checkable layer disagrees. */
  ok: boolean;
  verified: number;
  disagreeing: number;
  notCheckable: number;
  maxRel: number;
  /** `verified 61 layers, max rel error 3.1e-7; 2 layers not checkable: ...` */
  summary: string;
  sourceFramework: Framework;
  targetFramework: Framework;
}

const FRAMEWORKS: readonly string[] = ["pytorch", "keras", "paddle", "onnx"];

/** The framework whose conventions a checkpoint's tensors follow. */
export function frameworkOf(checkpoint: Checkpoint, convention?: Convention): Framework {
  const hinted = checkpoint.tensors.map((t) => t.layer?.framework).find((f) => f !== undefined && FRAMEWORKS.includes(f));
  if (hinted) return hinted as Framework;
  if (convention) return convention;
  const format = checkpoint.format ?? "";
  if (format === "onnx") return "onnx";
  if (format.startsWith("keras")) return "keras";
  if (format.startsWith("paddle")) return "paddle";
  return checkpoint.tensors.some((t) => looksKeras(t.name)) ? "keras" : "pytorch";
}

export interface VerifyInputs {
  source: Checkpoint;
  converted: Checkpoint;
  /** The conversion's per-tensor report (what each source tensor became). */
  report: readonly TensorReport[];
  /** Layer kinds of the source tensors (hint, override, heuristic), for layers the report has no kind for. */
  kinds: ReadonlyMap<string, KindInfo>;
  conventions?: { from?: Convention; to?: Convention };
}

export async function verifyConversion(inputs: VerifyInputs, options: CheckOptions = {}): Promise<VerifyOutcome> {
  const sourceFramework = frameworkOf(inputs.source, inputs.conventions?.from);
  const targetFramework = frameworkOf(inputs.converted, inputs.conventions?.to ?? (inputs.conventions?.from ? undefined : sourceFramework));
  const keras3 = (c: Checkpoint, f: Framework): Checkpoint => (f === "keras" ? { ...c, tensors: withKerasNames(c.tensors) } : c);
  const layers = pairLayers(keras3(inputs.source, sourceFramework), sourceFramework, inputs.report, keras3(inputs.converted, targetFramework), inputs.kinds);
  const rows: VerifyRow[] = [];
  for (const layer of layers) rows.push(await checkLayer(layer, { source: sourceFramework, target: targetFramework }, options));
  return outcome(rows, sourceFramework, targetFramework);
}

function outcome(rows: VerifyRow[], sourceFramework: Framework, targetFramework: Framework): VerifyOutcome {
  const agreeing = rows.filter((r) => r.verdict === "agrees");
  const bad = rows.filter((r) => r.verdict === "disagrees");
  const unchecked = rows.filter((r) => r.verdict === "not-checkable");
  const maxRel = Math.max(0, ...rows.filter((r) => r.maxRel !== undefined && Number.isFinite(r.maxRel)).map((r) => r.maxRel!));
  const checked = agreeing.length + bad.length;
  let summary = bad.length
    ? `FAILED: ${bad.length} of ${checked} checked layers disagree (${bad.slice(0, 3).map((r) => `${r.layer}: ${r.reason ?? `max rel error ${fmt(r.maxRel!)}`}`).join("; ")}${bad.length > 3 ? " …" : ""})`
    : `verified ${agreeing.length} layer${agreeing.length === 1 ? "" : "s"}, max rel error ${fmt(maxRel)}`;
  if (unchecked.length) {
    const reasons = new Map<string, number>();
    for (const r of unchecked) reasons.set(r.reason ?? "?", (reasons.get(r.reason ?? "?") ?? 0) + 1);
    summary += `; ${unchecked.length} layer${unchecked.length === 1 ? "" : "s"} not checkable: ${[...reasons].map(([why, n]) => (n > 1 ? `${why} (${n})` : why)).join("; ")}`;
  }
  return { rows, ok: bad.length === 0, verified: agreeing.length, disagreeing: bad.length, notCheckable: unchecked.length, maxRel, summary, sourceFramework, targetFramework };
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x === 0 ? "0" : x.toExponential(1);
}
