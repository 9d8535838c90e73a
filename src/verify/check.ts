import type { Tensor } from "../tensor/tensor.js";
import { Disagreement, type Framework, type LayerSide, type Reference } from "./reference.js";
import { NotCheckable, gatheredParam, isBig, recordingParam, wholeParam, type Param } from "./params.js";
import { layerSeed, seededRandom } from "./random.js";
import { closeness, defaultRtol } from "./compare.js";
import { sideOf, type PairedLayer } from "./pairing.js";
import { referenceFor } from "./references.js";
import { batchnorm } from "./layers/norm.js";

/** One row of a verification: a layer of the source and what it became. */
export interface VerifyRow {
  layer: string;
  kind?: string;
  sourceFramework: Framework;
  targetFramework: Framework;
  source: string[];
  target: string[];
  verdict: "agrees" | "disagrees" | "not-checkable";
  maxAbs?: number;
  maxRel?: number;
  rtol?: number;
  /** Why it disagrees or cannot be checked. */
  reason?: string;
  /** Assumptions and samples (ε assumed, outputs sampled ...). */
  notes?: string[];
}

export interface CheckOptions {
  rtol?: number;
  seed?: number;
}

/** Tensors that take no part in a forward pass. */
const INERT = /(^|[./])num_batches_tracked$/;

async function loadSide(side: LayerSide<Tensor>, touched?: Map<Tensor, Set<number>>): Promise<LayerSide<Param>> {
  const roles = new Map<string, Param>();
  for (const [r, t] of side.roles) {
    if (INERT.test(t.name)) continue;
    const needed = touched?.get(t);
    roles.set(r, needed && isBig(t) ? await gatheredParam(t, needed) : await wholeParam(t));
  }
  return { ...side, roles };
}

function recordingSide(side: LayerSide<Tensor>, touched: Map<Tensor, Set<number>>): LayerSide<Param> {
  const roles = new Map<string, Param>();
  for (const [r, t] of side.roles) {
    if (INERT.test(t.name)) continue;
    const set = touched.get(t) ?? new Set<number>();
    touched.set(t, set);
    roles.set(r, recordingParam(t, set));
  }
  return { ...side, roles };
}

/** Runs one side: big tensors are fetched only where a recording run of the layer touched them. */
async function run<P>(ref: Reference<P>, side: LayerSide<Tensor>, plan: P, input: Float64Array, which: "source" | "target"): Promise<Float64Array> {
  const big = [...side.roles.values()].some(isBig);
  let touched: Map<Tensor, Set<number>> | undefined;
  if (big) {
    touched = new Map();
    ref.forward(recordingSide(side, touched), plan, input, which);
  }
  return ref.forward(await loadSide(side, touched), plan, input, which);
}

export async function checkLayer(layer: PairedLayer, frameworks: { source: Framework; target: Framework }, options: CheckOptions): Promise<VerifyRow> {
  const row: VerifyRow = {
    layer: layer.name,
    sourceFramework: frameworks.source,
    targetFramework: frameworks.target,
    source: layer.source.map((t) => t.name),
    target: layer.target.map((t) => t.name),
    verdict: "not-checkable",
  };
  if (layer.kind) row.kind = layer.kind;
  const live = layer.source.filter((t) => !INERT.test(t.name));
  if (!live.length) return { ...row, reason: "holds no weights (counters only)" };
  if (layer.absent.length) return { ...row, verdict: "disagrees", reason: `the converted file lacks ${layer.absent.join(", ")}` };
  if (!layer.target.length) return { ...row, reason: "not in the converted file (left out by the conversion: optimizer state, exporter constants ...)" };
  if (!layer.kind) return { ...row, reason: "layer kind unknown (no hint, heuristic or --layer)" };
  const ref = referenceFor(layer.kind);
  if (!ref) return { ...row, reason: `no reference layer for kind '${layer.kind}'` };
  if (layer.fused) return checkFused(layer, ref, frameworks, options, row);
  const converted = new Set(layer.converted);
  const left = live.filter((t) => !converted.has(t.name)).map((t) => t.name);
  const source = sideOf(layer.source, frameworks.source, layer.attributes);
  const target = sideOf(layer.target, frameworks.target);
  const random = seededRandom(layerSeed(options.seed ?? 0, layer.name));
  try {
    ref.plan(source, source, seededRandom(0));
  } catch (e) {
    // The source's own tensors do not make such a layer: the kind is wrong, not the conversion.
    if (e instanceof Disagreement || e instanceof NotCheckable) {
      const advice = layer.kindEvidence === "override" ? "the --layer given for it names another kind than its tensors make" : "set the kind with --layer";
      return { ...row, reason: `the source's tensors do not fit a ${layer.kind} (${e.message}); ${advice}` };
    }
    throw e;
  }
  try {
    const plan = ref.plan(source, target, random);
    const input = ref.input(plan, random);
    const a = await run(ref, source, plan, input, "source");
    const b = await run(ref, target, plan, input, "target");
    const notes = ref.notes?.(plan) ?? [];
    if (left.length) notes.push(`not in the converted file: ${left.join(", ")}`);
    if (notes.length) row.notes = notes;
    if (a.length !== b.length) return { ...row, verdict: "disagrees", reason: `outputs have ${a.length} and ${b.length} values` };
    const c = closeness(a, b);
    const rtol = options.rtol ?? defaultRtol([...layer.source, ...layer.target].map((t) => t.dtype));
    return { ...row, ...c, rtol, verdict: c.maxRel <= rtol ? "agrees" : "disagrees" };
  } catch (e) {
    if (e instanceof Disagreement) return { ...row, verdict: "disagrees", reason: left.length ? `${left.join(", ")} not converted; ${e.message}` : e.message };
    if (e instanceof NotCheckable) return { ...row, reason: e.message };
    throw e;
  }
}

/**
 * One side's output on a given canonical input, the layer planned against itself: for checking
 * the reference layers against the real frameworks.
 */
export async function computeReference(kind: string, side: LayerSide<Tensor>, input?: Float64Array): Promise<{ output: Float64Array; input: Float64Array }> {
  const ref = referenceFor(kind);
  if (!ref) throw new Error(`no reference for ${kind}`);
  const random = seededRandom(1);
  const plan = ref.plan(side, side, random);
  const x = input ?? ref.input(plan, random);
  return { output: await run(ref, side, plan, x, "source"), input: x };
}

/**
 * A layer whose converted weights also hold the following BatchNorm(s) (folded by the
 * conversion): the source side runs the layer, then each BatchNorm per output channel; the
 * converted side runs its one layer. Every output channel is computed (no sampling).
 */
async function checkFused(
  layer: PairedLayer,
  ref: Reference<unknown>,
  frameworks: { source: Framework; target: Framework },
  options: CheckOptions,
  row: VerifyRow,
): Promise<VerifyRow> {
  const fused = layer.fused!;
  row = {
    ...row,
    layer: [layer.name, ...fused.map((f) => f.name)].join(" + "),
    kind: [layer.kind, ...fused.map((f) => f.kind ?? "?")].join(" + "),
    source: [...row.source, ...fused.flatMap((f) => f.source.map((t) => t.name))],
  };
  if (fused.some((f) => f.kind !== "batchnorm") || !/^(conv\d?d?|linear)$/.test(layer.kind!)) {
    return { ...row, reason: `the conversion merged these layers' weights; only a conv or linear followed by BatchNorm has a reference` };
  }
  const source = sideOf(layer.source, frameworks.source, layer.attributes);
  const target = sideOf(layer.target, frameworks.target);
  const random = seededRandom(layerSeed(options.seed ?? 0, layer.name));
  try {
    const plan = ref.plan(source, target, random) as { outputs: number[]; outChannels?: number; out?: number; support?: number[]; in?: number };
    const channels = plan.outChannels ?? plan.out!;
    plan.outputs = Array.from({ length: channels }, (_, i) => i);
    if (plan.support) plan.support = Array.from({ length: plan.in! }, (_, i) => i);
    const input = ref.input(plan, random);
    let a = await run(ref, source, plan, input, "source");
    const b = await run(ref, target, plan, input, "target");
    // Conv output is [channel, position]; Linear's [batch, channel]: BatchNorm wants [rows, channel].
    const channelFirst = plan.outChannels !== undefined;
    const rows = a.length / channels;
    const notes: string[] = [];
    for (const f of fused) {
      const side = sideOf(f.source, frameworks.source, f.attributes);
      const bnPlan = batchnorm.plan(side, side, random);
      if (bnPlan.features !== channels) throw new Disagreement(`${f.name} normalizes ${bnPlan.features} channels, ${layer.name} makes ${channels}`);
      const x = new Float64Array(a.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < channels; c++) x[r * channels + c] = channelFirst ? a[c * rows + r]! : a[r * channels + c]!;
      const y = batchnorm.forward(await loadSide(side), { ...bnPlan, batch: rows }, x, "source");
      a = new Float64Array(a.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < channels; c++) a[channelFirst ? c * rows + r : r * channels + c] = y[r * channels + c]!;
      notes.push(
        `${f.name} folded into ${layer.name} by the conversion; checked as ${layer.name} then ${f.name} (ε ${bnPlan.epsilon.source})`,
        ...(batchnorm.notes?.(bnPlan) ?? []),
      );
    }
    const c = closeness(a, b);
    const rtol = options.rtol ?? defaultRtol([...layer.source, ...layer.target].map((t) => t.dtype));
    return { ...row, ...c, rtol, notes, verdict: c.maxRel <= rtol ? "agrees" : "disagrees" };
  } catch (e) {
    if (e instanceof Disagreement) return { ...row, verdict: "disagrees", reason: e.message };
    if (e instanceof NotCheckable) return { ...row, reason: e.message };
    throw e;
  }
}
