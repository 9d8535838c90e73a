import type { Checkpoint } from "../tensor/checkpoint.js";
import { castTensor } from "../tensor/cast-tensor.js";
import { isFloating, type DType } from "../tensor/dtype.js";
import { WeightbridgeError } from "../errors.js";
import type { FormatId } from "../formats/types.js";
import { read, type Input } from "./open.js";
import { outputFormat, write } from "./write.js";
import type { ConversionReport, TensorReport } from "./report.js";
import { atomicFileSink } from "../io/sink.js";
import { utf8 } from "../util/bytes.js";

export type CastTarget = "float16" | "bfloat16" | "float32";

export interface ConvertOptions {
  from?: FormatId;
  to?: FormatId;
  /** Take one subtree of the source (e.g. `model_state_dict`) as the root. */
  select?: string;
  /** Cast every floating tensor to this dtype. */
  dtype?: CastTarget;
  /** A file of the target framework whose names, order or graph the output follows. */
  template?: string;
  strict?: boolean;
  force?: boolean;
  /** Write the conversion report as JSON to this path. */
  report?: string;
  externalData?: boolean;
  pickleProtocol?: number;
  onProgress?(written: number, total: number): void;
}

const CAST_TARGETS: readonly string[] = ["float16", "bfloat16", "float32"];

/** Reads `input`, applies selection and casts, writes `output`; returns what happened. */
export async function convert(input: Input, output: string, options: ConvertOptions = {}): Promise<ConversionReport> {
  if (options.dtype && !CAST_TARGETS.includes(options.dtype)) {
    throw new WeightbridgeError("usage", `--dtype must be one of ${CAST_TARGETS.join(", ")}`);
  }
  const target = outputFormat(output, options.to);
  const source = await read(input, { format: options.from, select: options.select });
  const template = options.template ? await read(options.template) : undefined;
  try {
    const reports: TensorReport[] = [];
    const tensors = source.tensors.map((t) => {
      const cast = options.dtype && isFloating(t.dtype) ? castTensor(t, options.dtype as DType) : t;
      reports.push({
        source: t.name,
        target: cast.name,
        shape: t.shape,
        dtype: t.dtype,
        targetDtype: cast.dtype,
        transforms: cast.dtype !== t.dtype ? [`cast(${t.dtype}→${cast.dtype})`] : [],
      });
      return cast;
    });
    const converted: Checkpoint = { ...source, tensors };
    const warnings = [...(source.warnings ?? [])];
    warnings.push(
      ...(await write(converted, output, {
        format: target.id,
        force: options.force,
        template,
        strict: options.strict,
        externalData: options.externalData,
        pickleProtocol: options.pickleProtocol,
        onProgress: options.onProgress,
      })),
    );
    const report: ConversionReport = {
      input: typeof input === "string" ? input : "<memory>",
      output,
      from: source.format ?? "unknown",
      to: target.id,
      tensors: reports,
      unmatched: [],
      missing: [],
      dropped: [],
      warnings,
    };
    if (options.report) await writeReport(options.report, report);
    return report;
  } finally {
    await source.close();
    await template?.close();
  }
}

async function writeReport(path: string, report: ConversionReport): Promise<void> {
  const sink = await atomicFileSink(path, { force: true });
  try {
    await sink.write(utf8(`${JSON.stringify(report, null, 2)}\n`));
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

