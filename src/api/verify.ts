import type { Checkpoint, JsonValue } from "../tensor/checkpoint.js";
import { checkKerasConfigApplies, resolveKerasConfig, type KerasConfigOption } from "./keras-config.js";
import { knownFormat, type FormatId } from "../formats/index.js";
import { read, type Input } from "./open.js";
import { loadRuleSets, mapCheckpoint, parseLayerOverride } from "../mapping/index.js";
import { compileOverrides, inferKinds } from "../mapping/kinds.js";
import type { MappingReport } from "../mapping/report.js";
import type { MapOptions } from "../mapping/run.js";
import { foreignPair } from "./preset-hint.js";
import { verifyConversion, type FormatFacts, type VerifyOutcome } from "../verify/index.js";
import type { GraphFile } from "../verify/whole-model/graph-file.js";
import { kerasMajor } from "./model-graph.js";

export type { VerifyOutcome, VerifyRow } from "../verify/index.js";

export interface VerifyOptions extends Pick<MapOptions, "map" | "stripPrefix" | "addPrefix" | "layers"> {
  /** Format of the source when its bytes do not say (as for convert). */
  from?: FormatId;
  select?: string;
  /** The template the conversion followed. */
  template?: Input;
  /**
   * A Keras model config file (model.to_json()) for a save_weights SOURCE, or the parsed config (as
   * convert takes it): its layer kinds, and the graph of the whole-model check.
   */
  kerasConfig?: KerasConfigOption;
  /** Relative tolerance (default 1e-5, looser for float16/bfloat16 weights). */
  rtol?: number;
  /** Seed of the random inputs (default 0). */
  seed?: number;
}

type Readable = Input | Checkpoint;

/** What onnxruntime can load for the whole-model check: a path, or the bytes (read only if it runs). */
function graphFile(x: Readable): GraphFile | undefined {
  if (typeof x === "string" || x instanceof Uint8Array) return x;
  if (typeof Blob !== "undefined" && x instanceof Blob) return async () => new Uint8Array(await x.arrayBuffer());
  if (!isCheckpoint(x) && typeof x === "object" && "read" in x && "size" in x) return () => x.read(0, x.size);
  return undefined;
}

function isCheckpoint(x: Readable): x is Checkpoint {
  return typeof x === "object" && x !== null && "tensors" in x && Array.isArray((x as Checkpoint).tensors);
}

/**
 * Checks a conversion numerically: re-runs the mapping on SOURCE to pair each of its layers with
 * the tensors it became in CONVERTED, then runs both through reference layers on seeded inputs.
 */
export async function verify(source: Readable, converted: Readable, options: VerifyOptions = {}): Promise<VerifyOutcome> {
  const opened: Array<{ close(): Promise<void> }> = [];
  const open = async (x: Readable, o: { format?: FormatId; select?: string; modelConfig?: JsonValue } = {}): Promise<Checkpoint> => {
    if (isCheckpoint(x)) return x;
    const c = await read(x, o);
    opened.push(c);
    return c;
  };
  try {
    const kerasConfig = await resolveKerasConfig(options.kerasConfig);
    const src = isCheckpoint(source) ? source : await open(source, { format: options.from, select: options.select, modelConfig: kerasConfig });
    checkKerasConfigApplies(src, options.kerasConfig);
    const template = options.template ? await open(options.template) : undefined;
    const mapped = await mapCheckpoint(src, {
      map: options.map,
      template,
      stripPrefix: options.stripPrefix,
      addPrefix: options.addPrefix,
      layers: options.layers,
    });
    const out = await open(converted);
    const outcome = await verifyMapped(src, mapped.report, out, {
      ...options,
      kerasConfig,
      files: { source: graphFile(source), converted: graphFile(converted) },
    });
    return options.map === undefined && options.template === undefined ? withMapHint(outcome, formatOf(src), formatOf(out)) : outcome;
  } finally {
    for (const c of opened.reverse()) await c.close();
  }
}

function formatOf(c: Checkpoint): string | undefined {
  return (c as { format?: string }).format;
}

/**
 * Without --map, verify expects the converted file in the source's names and layouts (what convert
 * writes without --map); a failure between two frameworks most often means the conversion used a
 * preset that verify was not given.
 */
function withMapHint(outcome: VerifyOutcome, from: string | undefined, to: string | undefined): VerifyOutcome {
  const pair = outcome.ok ? undefined : foreignPair(from, to);
  if (!pair?.fit) return outcome;
  return { ...outcome, summary: `${outcome.summary}; the converted file is ${to}: if it was converted with --map ${pair.fit}, verify it with the same --map` };
}

/** The check on a conversion whose mapping report is at hand (convert --verify). */
export async function verifyMapped(
  source: Checkpoint,
  report: Pick<MappingReport, "tensors">,
  converted: Checkpoint,
  options: Pick<VerifyOptions, "map" | "layers" | "rtol" | "seed"> & { files?: { source?: GraphFile; converted?: GraphFile }; kerasConfig?: JsonValue },
): Promise<VerifyOutcome> {
  const sets = await loadRuleSets(options.map);
  const from = sets[0]?.set.from;
  const to = sets[sets.length - 1]?.set.to;
  const overrides = compileOverrides((options.layers ?? []).map(parseLayerOverride), "--layer");
  const kinds = inferKinds(source.tensors, from, overrides);
  const kerasConfig = options.kerasConfig ?? ownModelConfig(source);
  const formats = { source: formatFacts(source), converted: formatFacts(converted) };
  return verifyConversion(
    { source, converted, report: report.tensors, kinds, conventions: { from, to }, files: options.files, kerasConfig, kerasMajor: kerasMajor(source), formats },
    { rtol: options.rtol, seed: options.seed },
  );
}

/** What verify needs to know of a checkpoint's format, from its descriptor. */
function formatFacts(checkpoint: Checkpoint): FormatFacts {
  const format = knownFormat(checkpoint.format);
  return { ...(format?.conventionsFixed ? { framework: format.framework } : {}), runsInOnnxruntime: format?.runsInOnnxruntime === true };
}

/** The model config a file holds itself (a Keras model.save's), where its format's descriptor says it keeps one. */
function ownModelConfig(checkpoint: Checkpoint): JsonValue | undefined {
  const key = knownFormat(checkpoint.format)?.modelConfig?.metaKey;
  return key === undefined ? undefined : checkpoint.meta?.[key];
}
