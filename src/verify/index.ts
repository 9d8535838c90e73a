import type { Checkpoint, JsonValue } from "../tensor/checkpoint.js";
import { namingOf } from "../vocabulary/conventions.js";
import type { TensorReport } from "../mapping/report.js";
import type { Convention, KindInfo } from "../mapping/types.js";
import { looksKeras } from "../mapping/name-style.js";
import type { Framework } from "./reference.js";
import { pairLayers, withKerasNames, withOnnxSlotRoles } from "./pairing.js";
import { checkLayer, type CheckOptions, type VerifyRow } from "./check.js";
import { checkWholeModel, wholeModelApplies } from "./whole-model/whole-model.js";
import type { GraphFile } from "./whole-model/graph-file.js";
import type { FormatFacts } from "./format-facts.js";
import { maxOf } from "../util/arrays.js";

export type { VerifyRow, CheckOptions } from "./check.js";
export type { FormatFacts } from "./format-facts.js";
export { referenceKinds } from "./references.js";

// Numerical proof of a conversion, layer by layer: each source layer and its converted
// counterpart are run through reference forward passes written from each framework's own
// semantics, on the same seeded input, and their outputs compared.

export interface VerifyOutcome {
  /** One row per layer, then the whole-model row when the converted file is an ONNX graph. */
  rows: VerifyRow[];
  /** True when something was checked (a layer or the whole model) and nothing checked disagrees. */
  ok: boolean;
  verified: number;
  disagreeing: number;
  notCheckable: number;
  maxRel: number;
  /** `verified 61 layers, max rel error 3.1e-7; 2 layers not checkable: ...; whole model agrees ...` */
  summary: string;
  /** The whole-model check (also the last of `rows`), when the converted file is an ONNX graph. */
  wholeModel?: VerifyRow;
  sourceFramework: Framework;
  targetFramework: Framework;
}

const FRAMEWORKS: readonly string[] = ["pytorch", "keras", "paddle", "onnx"];

/** The framework whose conventions a checkpoint's tensors follow. */
export function frameworkOf(checkpoint: Checkpoint, convention?: Convention, format?: FormatFacts): Framework {
  const hinted = checkpoint.tensors.map((t) => t.layer?.framework).find((f) => f !== undefined && FRAMEWORKS.includes(f));
  if (hinted) return hinted as Framework;
  if (convention) return convention;
  if (format?.framework) return format.framework;
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
  /** The files behind source and converted, for the whole-model check to run as graphs. */
  files?: { source?: GraphFile; converted?: GraphFile };
  /** The source's Keras model config: its own (model.save), or one given beside its weights (--keras-config). */
  kerasConfig?: JsonValue;
  /** The Keras major version that wrote a Keras source (its definitions of hard_sigmoid apply). */
  kerasMajor?: number;
  /** What the two files' format descriptors say. */
  formats?: { source?: FormatFacts; converted?: FormatFacts };
}

export async function verifyConversion(inputs: VerifyInputs, options: CheckOptions = {}): Promise<VerifyOutcome> {
  const sourceFramework = frameworkOf(inputs.source, inputs.conventions?.from, inputs.formats?.source);
  const targetFramework = frameworkOf(
    inputs.converted,
    inputs.conventions?.to ?? (inputs.conventions?.from ? undefined : sourceFramework),
    inputs.formats?.converted,
  );
  const keras3 = (c: Checkpoint, f: Framework): Checkpoint => (namingOf(f) === "keras-path" ? { ...c, tensors: withKerasNames(c.tensors) } : c);
  const paired = pairLayers(keras3(inputs.source, sourceFramework), sourceFramework, inputs.report, keras3(inputs.converted, targetFramework), inputs.kinds);
  const layers = withOnnxSlotRoles(paired, sourceFramework, targetFramework);
  const rows: VerifyRow[] = [];
  for (const layer of layers) rows.push(await checkLayer(layer, { source: sourceFramework, target: targetFramework }, options));
  const result = outcome(rows, sourceFramework, targetFramework);
  if (!wholeModelApplies(inputs.converted, inputs.formats?.converted)) return nothingVerified(result);
  const whole = await checkWholeModel(
    {
      source: inputs.source,
      converted: inputs.converted,
      sourceFramework,
      sourceIsGraph: inputs.formats?.source?.runsInOnnxruntime === true,
      sourceFile: inputs.files?.source,
      convertedFile: inputs.files?.converted,
      kerasConfig: inputs.kerasConfig,
      kerasMajor: inputs.kerasMajor,
    },
    options,
  );
  return nothingVerified(withWholeModel(result, whole));
}

/** Nothing checked and nothing disagreeing: say plainly that this is no pass. */
function nothingVerified(result: VerifyOutcome): VerifyOutcome {
  if (result.ok || result.disagreeing > 0 || result.wholeModel?.verdict === "disagrees") return result;
  return { ...result, summary: `FAILED: nothing verified (${result.summary})` };
}

function withWholeModel(result: VerifyOutcome, whole: VerifyRow): VerifyOutcome {
  const said =
    whole.verdict === "agrees"
      ? `whole model agrees (${whole.kind}), max rel error ${fmt(whole.maxRel!)}`
      : whole.verdict === "disagrees"
        ? `FAILED: whole model disagrees (${whole.kind}): ${whole.reason ?? `max rel error ${fmt(whole.maxRel!)} > ${fmt(whole.rtol!)}`}`
        : `whole model not checked: ${whole.reason}`;
  // A failure leads the summary.
  const summary = whole.verdict === "disagrees" && result.ok ? `${said}; ${result.summary}` : `${result.summary}; ${said}`;
  // The whole model agreeing is a check even when no single layer could be.
  const ok = result.disagreeing === 0 && (result.verified > 0 || whole.verdict === "agrees") && whole.verdict !== "disagrees";
  return { ...result, rows: [...result.rows, whole], wholeModel: whole, ok, summary };
}

function outcome(rows: VerifyRow[], sourceFramework: Framework, targetFramework: Framework): VerifyOutcome {
  const agreeing = rows.filter((r) => r.verdict === "agrees");
  const bad = rows.filter((r) => r.verdict === "disagrees");
  const unchecked = rows.filter((r) => r.verdict === "not-checkable");
  const maxRel = maxOf(
    rows.filter((r) => r.maxRel !== undefined && Number.isFinite(r.maxRel)).map((r) => r.maxRel!),
    0,
  );
  const checked = agreeing.length + bad.length;
  // Zero layers checked proves nothing: not a pass.
  let summary = bad.length
    ? `FAILED: ${bad.length} of ${checked} checked layers disagree (${bad
        .slice(0, 3)
        .map((r) => `${r.layer}: ${r.reason ?? `max rel error ${fmt(r.maxRel!)}`}`)
        .join("; ")}${bad.length > 3 ? " …" : ""})`
    : agreeing.length === 0
      ? "0 layers checked"
      : `verified ${agreeing.length} layer${agreeing.length === 1 ? "" : "s"}, max rel error ${fmt(maxRel)}`;
  if (unchecked.length) {
    const reasons = new Map<string, number>();
    for (const r of unchecked) reasons.set(r.reason ?? "?", (reasons.get(r.reason ?? "?") ?? 0) + 1);
    summary += `; ${unchecked.length} layer${unchecked.length === 1 ? "" : "s"} not checkable: ${[...reasons].map(([why, n]) => (n > 1 ? `${why} (${n})` : why)).join("; ")}`;
  }
  return {
    rows,
    ok: bad.length === 0 && agreeing.length > 0,
    verified: agreeing.length,
    disagreeing: bad.length,
    notCheckable: unchecked.length,
    maxRel,
    summary,
    sourceFramework,
    targetFramework,
  };
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x === 0 ? "0" : x.toExponential(1);
}
