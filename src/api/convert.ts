import { WeightbridgeError } from "../errors.js";
import type { Checkpoint } from "../tensor/checkpoint.js";
import { FORMATS, knownFormat, type FormatId, type KnownFormat } from "../formats/index.js";
import { openSource, read, type Input, type OpenCheckpoint } from "./open.js";
import { checkFolderOutput } from "./folder-output.js";
import { frameworkOfFormat, outputFormat, write, type WriteOptions } from "./write.js";
import type { Framework } from "../formats/types.js";
import type { ConversionReport } from "./report.js";
import { verifyMapped } from "./verify.js";
import type { VerifyOutcome } from "../verify/index.js";
import type { ByteSource } from "../io/source.js";
import { atomicFileSink, checkOutputFolder, checkOutputPath } from "../io/sink.js";
import { resolve } from "node:path";
import { utf8 } from "../util/bytes.js";
import type { JsonValue } from "../tensor/checkpoint.js";
import { parseSize } from "./sharded-write.js";
import { carryBatchCounters, mapCheckpoint, type MapOptions } from "../mapping/index.js";
import { checkKerasConfigApplies, resolveKerasConfig, type KerasConfigOption } from "./keras-config.js";
import { applyHfConfig } from "./hf-config.js";
import { modelSubtrees } from "../mapping/models.js";
import { foreignPair } from "./preset-hint.js";
import { convertToTorchModule, isPythonOutput } from "./torch-module.js";
import { groupedFormatOptions, type FlatFormatOptions } from "./format-options.js";
import { kerasModelConfig } from "./model-graph.js";
import { writeKerasGraph } from "./convert-graph.js";
import { refuseUnwritablePacked, unwritablePacked } from "./packed-dtypes.js";

export type CastTarget = "float16" | "bfloat16" | "float32";

export interface ConvertOptions
  extends FlatFormatOptions,
    Pick<MapOptions, "map" | "stripPrefix" | "addPrefix" | "layers" | "keepUnmapped" | "strict" | "adamBetas"> {
  from?: FormatId;
  to?: FormatId;
  /** Take one subtree of the source (e.g. `model_state_dict`) as the root. */
  select?: string;
  /** Cast every floating tensor to this dtype. */
  dtype?: CastTarget;
  /** A file of the target framework whose names, order or graph the output follows. */
  template?: Input;
  /** A Keras model config (`model.to_json()`) for a weights file that lacks one (`save_weights`). */
  kerasConfig?: KerasConfigOption;
  /** A Hugging Face config.json for a conversion to GGUF (default: the one beside the input). */
  hfConfig?: string;
  /**
   * Quantized tensors (TFLite) become float32 `(q - zero_point) * scale`. Implied by a tflite2*
   * preset: the target framework's layers take float weights.
   */
  dequantize?: boolean;
  /** Convert even though the input holds tensors the reader cannot represent (listed in the report's `dropped`). */
  allowDrop?: boolean;
  /** Re-weighting a template (ONNX, TF checkpoint, TFLite): its weights the input gives no value keep the template's instead of failing. */
  keepTemplateValues?: boolean;
  force?: boolean;
  /** Write the conversion report as JSON to this path. */
  report?: string;
  /** Split the output into shards of at most this many bytes (or a size like "5GB") plus an index.json. */
  maxShardSize?: number | string;
  /**
   * Check the fresh output layer by layer against the source before it is renamed into place
   * (see verify()); a disagreement fails the conversion and no output appears.
   */
  verify?: boolean | { rtol?: number; seed?: number };
  onProgress?(written: number, total: number, tensorsDone?: number, tensorCount?: number): void;
  /**
   * An ONNX output of a source holding a Keras architecture is a runnable graph unless this is
   * set (or map, template, dtype or select ask for the weights): then it holds the initializers
   * alone, as other sources' ONNX outputs do.
   */
  weightsOnly?: boolean;
  /** ai.onnx opset of a runnable graph (13 to 17; default 17). */
  opset?: number;
  /** A runnable graph takes image inputs [N, C, ...spatial] instead of Keras' channels-last. */
  inputsChannelsFirst?: boolean;
  /** Read and map, then stop: the returned report is the plan, and nothing is written (OUT, report). */
  dryRun?: boolean;
  /** Opens the output's files instead of temporary files beside OUT (see WriteOptions.openSink); not with `verify` or `report`. */
  openSink?: WriteOptions["openSink"];
}

const CAST_TARGETS: readonly string[] = ["float16", "bfloat16", "float32"];

const BATCHNORM_STAT = /(^|[./])(running_mean|moving_mean|_mean)(:0)?$/;

/** A file whose producer folded its BatchNorms (TFLite's converter, into the convolution before) has none; a template with some gets nothing for them. */
function foldedBatchNormNote(source: Checkpoint, template: Checkpoint | undefined): string | undefined {
  const folder = knownFormat(source.format)?.batchNormsFoldedBy;
  if (folder === undefined || !template) return undefined;
  // One mean per BatchNorm layer: torch running_mean, Keras moving_mean, Paddle _mean.
  const norms = template.tensors.filter((t) => BATCHNORM_STAT.test(t.name));
  if (norms.length === 0) return undefined;
  return (
    `${folder} folded every BatchNorm into the convolution before it: the template's ${norms.length} BatchNorm layer(s) ` +
    `(${norms[0]!.name} ...) get no values from this file; set them to identity (weight 1, bias 0, mean 0, variance 1) or remove them`
  );
}

/** Does the mapping start from a preset that maps a quantized format's weights as floats (tflite2*)? */
function mapsFromFloatPreset(map: string | string[] | undefined): boolean {
  const first = [map ?? []]
    .flat()
    .flatMap((m) => m.split(","))[0]
    ?.trim();
  return first !== undefined && FORMATS.some((f: KnownFormat) => f.floatPresetPrefix !== undefined && first.startsWith(f.floatPresetPrefix));
}

/** Reads `input`, applies selection and casts, writes `output`; returns what happened. */
export async function convert(input: Input, output: string, options: ConvertOptions = {}): Promise<ConversionReport> {
  if (isPythonOutput(output) && (options.to === undefined || options.to === ("pytorch-module" as FormatId))) {
    return convertToTorchModule(input, output, { force: options.force, kerasConfig: options.kerasConfig });
  }
  if (options.dtype && !CAST_TARGETS.includes(options.dtype)) {
    throw new WeightbridgeError("usage", `--dtype must be one of ${CAST_TARGETS.join(", ")}`);
  }
  const { format: target, variant } = outputFormat(output, options.to);
  if (options.openSink && (options.verify || options.report))
    throw new WeightbridgeError("usage", "verify and report need a file output, not openSink (call verify() on what was written)");
  // Everything that would make the last step fail is checked before the work starts.
  if (!options.openSink) await checkOutputFolder(output);
  if (!options.openSink && target.writesFolder) {
    await checkFolderOutput(output, target, { force: options.force, inputs: [input, options.template].map((i) => (typeof i === "string" ? i : undefined)) });
  }
  if (options.report) {
    if (resolve(options.report) === resolve(output)) throw new WeightbridgeError("usage", "--report and OUT are the same file", { file: output });
    await checkOutputPath(options.report, options.force);
  }
  const modelConfig = await resolveKerasConfig(options.kerasConfig);
  const dequantize = options.dequantize ?? mapsFromFloatPreset(options.map);
  const source = await read(input, { format: options.from, select: options.select, modelConfig, dequantize });
  try {
    checkKerasConfigApplies(source, options.kerasConfig);
    refuseSeveralModels(source, target, options);
    if (target.usesHfConfig) await applyHfConfig(source, input, options.hfConfig, target.usesHfConfig);
  } catch (e) {
    await source.close();
    throw e;
  }
  // --map/--template/--dtype/--select ask for the weights (a template re-weights its own graph).
  const weightsAsked =
    options.weightsOnly || options.map !== undefined || options.template !== undefined || options.dtype !== undefined || options.select !== undefined;
  const graphConfig = target.writesModelGraph && !weightsAsked ? kerasModelConfig(source, modelConfig) : undefined;
  if (graphConfig !== undefined) {
    try {
      return await convertGraph(source, graphConfig, input, output, options);
    } finally {
      await source.close();
    }
  }
  // A quantized template (TFLite) is read as float32: its writer re-quantizes with the template's own scales.
  const template = options.template ? await read(options.template, { dequantize: true }) : undefined;
  // Writers that follow a template's file (ONNX graph, .pdmodel program) read it themselves.
  const templateSource = options.template ? await openSource(options.template) : undefined;
  try {
    const mapped = await mapCheckpoint(source, {
      map: options.map,
      template: target.templateIsMetadata ? undefined : template,
      strict: options.strict,
      stripPrefix: options.stripPrefix,
      addPrefix: options.addPrefix,
      layers: options.layers,
      keepUnmapped: options.keepUnmapped,
      allowDrop: options.allowDrop,
      // An output that holds a training checkpoint's optimizer state (.pdopt) gets that part.
      part: variant?.holds ?? "model",
      adamBetas: options.adamBetas,
      dtype: options.dtype,
    });
    if (target.keepsBatchCounters && (variant?.holds ?? "model") === "model") await carryBatchCounters(source, mapped);
    recordSkipped(source, mapped.report, input, options.allowDrop || options.keepUnmapped);
    if (!options.allowDrop) refuseUnwritablePacked(mapped.checkpoint, target, output);
    const packed = new Set(unwritablePacked(mapped.checkpoint, target));
    if (packed.size > 0) {
      mapped.checkpoint = { ...mapped.checkpoint, tensors: mapped.checkpoint.tensors.filter((t) => !packed.has(t.name)) };
      mapped.report.dropped.push(...packed);
      mapped.report.warnings.push(
        `${packed.size} 4-bit tensor(s) left out (--allow-drop; ${target.id} has no 4-bit type): ${[...packed].slice(0, 5).join(", ")}`,
      );
    }
    const warnings = [...(source.warnings ?? []), ...mapped.report.warnings];
    if (source.tensors.length === 0) warnings.push(`${typeof input === "string" ? input : "the input"} holds no tensors: the output has only its metadata`);
    const foreign = options.map === undefined && options.template === undefined ? presetHint(source.format, target.id) : undefined;
    if (foreign) warnings.push(foreign);
    const folded = foldedBatchNormNote(source, template);
    if (folded) warnings.push(folded);
    const check = options.verify ? (typeof options.verify === "object" ? options.verify : {}) : undefined;
    let verification: VerifyOutcome | undefined;
    const reportOf = (): ConversionReport => ({
      input: typeof input === "string" ? input : typeof input === "object" && "name" in input && typeof input.name === "string" ? input.name : "<memory>",
      output,
      from: source.format ?? "unknown",
      to: target.id,
      ...mapped.report,
      warnings,
      ...(verification ? { verification } : {}),
    });
    // convert --verify: the output as written (read back from its temporaries) against the source.
    const beforeCommit = check
      ? async (written: string | ByteSource[]) => {
          const parts: OpenCheckpoint[] = [];
          try {
            for (const w of typeof written === "string" ? [written] : written) parts.push(await read(w, { format: target.id }));
            const out = { ...parts[0]!, tensors: parts.flatMap((p) => p.tensors) };
            const files = {
              source: typeof input === "string" || input instanceof Uint8Array ? input : undefined,
              converted: typeof written === "string" ? written : graphBytes(written),
            };
            verification = await verifyMapped(source, mapped.report, out, {
              map: options.map,
              layers: options.layers,
              ...check,
              files,
              kerasConfig: modelConfig,
            });
          } finally {
            for (const p of parts) await p.close();
          }
          if (!verification.ok) {
            if (options.report) await writeReport(options.report, reportOf(), options.force);
            throw new WeightbridgeError("verification", `${verification.summary}; nothing written`, { file: output });
          }
        }
      : undefined;
    // The source format decides what of its meta suits another format's file (GGUF: no vocabulary in a header).
    const sourceFormat = knownFormat(source.format);
    const travelling = sourceFormat && sourceFormat.id !== target.id ? sourceFormat.metaForOtherFormats?.(mapped.checkpoint.meta, output) : undefined;
    if (travelling) warnings.push(...travelling.notes);
    const checkpoint = travelling ? { ...mapped.checkpoint, meta: travelling.meta } : mapped.checkpoint;
    if (options.dryRun) return reportOf();
    warnings.push(
      ...(await write(checkpoint, output, {
        format: target.id,
        force: options.force,
        framework: mappedFramework(options.map) ?? frameworkOfFormat(source.format),
        template,
        templateSource,
        strict: options.strict,
        keepTemplateValues: options.keepTemplateValues,
        allowDrop: options.allowDrop,
        formatOptions: groupedFormatOptions(options),
        maxShardSize: typeof options.maxShardSize === "string" ? parseSize(options.maxShardSize) : options.maxShardSize,
        onProgress: options.onProgress,
        openSink: options.openSink,
        beforeCommit,
      })),
    );
    const report = reportOf();
    if (options.report) await writeReport(options.report, report, options.force);
    return report;
  } finally {
    await source.close();
    await template?.close();
    await templateSource?.close();
  }
}

/** A Keras model with its architecture → a runnable ONNX graph (see convert-graph.ts). */
async function convertGraph(source: OpenCheckpoint, config: JsonValue, input: Input, output: string, options: ConvertOptions): Promise<ConversionReport> {
  const mapped = await mapCheckpoint(source, {});
  const written = await writeKerasGraph(source, config, output, {
    ...options,
    // The config itself (the page) is already in the source, read with it.
    kerasConfig: typeof options.kerasConfig === "string" ? options.kerasConfig : undefined,
    verify: options.verify === false ? false : typeof options.verify === "object" ? options.verify : true,
  });
  const report: ConversionReport = {
    input: typeof input === "string" ? input : "<memory>",
    output,
    from: source.format ?? "unknown",
    to: "onnx",
    ...mapped.report,
    tensors: written.tensors,
    warnings: [...(source.warnings ?? []), ...written.warnings],
  };
  if (written.wholeModel) {
    const w = written.wholeModel;
    const ok = w.verdict !== "disagrees";
    const summary =
      w.verdict === "agrees" ? `whole model agrees, max rel error ${w.maxRel?.toExponential(2)}` : `whole model ${w.verdict}${w.reason ? `: ${w.reason}` : ""}`;
    report.verification = {
      rows: [w],
      ok,
      verified: w.verdict === "agrees" ? 1 : 0,
      disagreeing: ok ? 0 : 1,
      notCheckable: w.verdict === "not-checkable" ? 1 : 0,
      maxRel: w.maxRel ?? 0,
      summary,
      wholeModel: w,
      sourceFramework: "keras",
      targetFramework: "onnx",
    };
  }
  if (options.report) await writeReport(options.report, report, options.force);
  return report;
}

// Preset targets that are conventions of no format of their own (the formats' are their presetName):
// hf, Hugging Face transformers checkpoints, follow PyTorch's (gguf2hf).
const CONVENTION_TARGETS: Record<string, Framework> = { hf: "pytorch" };

/** The framework a preset chain maps into (`torch2keras` → keras); undefined for rule files. */
function mappedFramework(map: string | string[] | undefined): Framework | undefined {
  const names = (Array.isArray(map) ? map : map ? [map] : []).flatMap((m) => m.split(","));
  const last = names
    .at(-1)
    ?.trim()
    .match(/^[a-z]+2([a-z]+)$/);
  return last ? (FORMATS.find((f) => f.presetName === last[1])?.framework ?? CONVENTION_TARGETS[last[1]!]) : undefined;
}

async function writeReport(path: string, report: ConversionReport, force: boolean | undefined): Promise<void> {
  const sink = await atomicFileSink(path, { force });
  try {
    await sink.write(utf8(`${JSON.stringify(report, null, 2)}\n`));
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

/**
 * Tensors the reader could not represent are losses: listed in `dropped`, and the conversion is
 * refused unless each is a known non-weight or the caller allows it.
 */
function recordSkipped(source: Checkpoint, report: { dropped: string[] }, input: Input, allowed: boolean | undefined): void {
  const skipped = source.skipped ?? [];
  if (skipped.length === 0) return;
  report.dropped.push(...skipped.map((s) => s.name).filter((n) => !report.dropped.includes(n)));
  const losses = skipped.filter((s) => s.nonWeight === undefined);
  if (allowed || losses.length === 0) return;
  const listed = losses
    .slice(0, 3)
    .map((s) => `'${s.name}' (${s.why})`)
    .join(", ");
  throw new WeightbridgeError(
    "unsupported",
    `${losses.length} tensor(s) of the input cannot be represented and would be lost: ${listed}${losses.length > 3 ? " ..." : ""}; pass --allow-drop to convert without them`,
    { file: typeof input === "string" ? input : undefined, tensor: losses[0]!.name },
  );
}

/** A GAN's generator and discriminator written into one model's names would merge: one must be chosen. */
function refuseSeveralModels(source: Parameters<typeof modelSubtrees>[0], target: KnownFormat, options: ConvertOptions): void {
  if (options.select) return;
  const models = modelSubtrees(source);
  if (models.length < 2 || (!target.singleModel && options.map === undefined && options.template === undefined)) return;
  throw new WeightbridgeError(
    "unsupported",
    `the input holds ${models.length} models (${models.join(", ")}); a ${options.map !== undefined || options.template !== undefined ? "mapped" : target.id} output holds one, so they would merge: pick one with --select ${models[0]} (then --select ${models[1]} into a second file)`,
  );
}

/** Between frameworks without --map the names and layouts stay the source's: say which preset fits. */
function presetHint(from: string | undefined, to: string): string | undefined {
  const pair = foreignPair(from, to);
  if (!pair) return undefined;
  return `${from} → ${to} without --map: the tensors keep ${pair.from}'s names and layouts, which ${pair.to} does not load as its own${pair.fit ? `; --map ${pair.fit} converts them` : ""}`;
}

/** The written graph's bytes, read only if the whole-model check runs (one file; external data is not beside a temporary). */
function graphBytes(written: ByteSource[]): (() => Promise<Uint8Array>) | undefined {
  const only = written.length === 1 ? written[0]! : undefined;
  return only ? () => only.read(0, only.size) : undefined;
}
