import type { ByteSource } from "../io/source.js";
import { probe } from "../io/probe.js";
import { looksLikeZip, openZip } from "../io/zip.js";
import { WeightbridgeError } from "../errors.js";
import type { Finding, Format, OutputVariant } from "./types.js";
import type { OnnxOptions } from "./onnx/options.js";
import type { PaddleOptions } from "./paddle/options.js";
import { onnxFormat } from "./onnx/format.js";
import { safetensorsFormat } from "./safetensors/format.js";
import { kerasFormat, kerasH5Format } from "./keras/format.js";
import { pytorchFormat, torchscriptFormat } from "./pytorch/format.js";
import { paddleFormat } from "./paddle/pdparams-format.js";
import { paddleInferenceFormat } from "./paddle/inference-format.js";
import { tfCheckpointFormat, tfSavedModelFormat } from "./tensorflow/format.js";
import { tfliteFormat } from "./tflite/format.js";
import { ggufFormat } from "./gguf/format.js";
import type { GgufOptions } from "./gguf/options.js";

/**
 * THE list of formats, in sniffing order (more specific containers first).
 * Adding a format = writing its module and adding one line here.
 */
export const FORMATS = [
  safetensorsFormat,
  kerasH5Format,
  kerasFormat,
  torchscriptFormat,
  pytorchFormat,
  paddleFormat,
  paddleInferenceFormat,
  tfCheckpointFormat,
  tfSavedModelFormat,
  onnxFormat,
  tfliteFormat,
  ggufFormat,
] as const;

/** The id of one of THE formats. */
export type FormatId = (typeof FORMATS)[number]["id"];

/** One of THE formats, its finding type erased. */
export type KnownFormat = Format<Finding, FormatId>;

/** The descriptor of a format id, if it is one (a checkpoint's `format`: what rooms outside formats/ ask about it). */
export function knownFormat(id: string | undefined): KnownFormat | undefined {
  return FORMATS.find((f) => f.id === id);
}

/** The format runnable model graphs are written in and run (ONNX): the one that writes and encodes the neutral graph. */
export function graphFormat(): GraphFormat {
  const format = FORMATS.find((f) => f.readGraph && f.writeGraph && f.encodeGraph && f.runsInOnnxruntime);
  if (!format) throw new Error("no format writes model graphs");
  return format as GraphFormat;
}

type GraphFormat = KnownFormat & Required<Pick<KnownFormat, "readGraph" | "writeGraph" | "encodeGraph">>;

export function formatById(id: string): KnownFormat {
  const format = FORMATS.find((f) => f.id === id);
  if (!format) {
    throw new WeightbridgeError("usage", `unknown format '${id}' (known: ${FORMATS.map((f) => f.id).join(", ")})`);
  }
  return format;
}

/** The longest of `endings` that `name` ends with (case-insensitive). */
function longestEnding(name: string, endings: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  for (const e of endings) if (lower.endsWith(e) && (!best || e.length > best.length)) best = e;
  return best;
}

/** The format a file name suggests for output: the longest matching extension wins. */
export function formatForOutputName(name: string): KnownFormat | undefined {
  const ending = longestEnding(
    name,
    FORMATS.filter((f) => f.write).flatMap((f) => f.extensions),
  );
  return ending === undefined ? undefined : FORMATS.find((f) => f.write && f.extensions.includes(ending));
}

/** Which of the format's output variants an output name asks for (undefined: the default). */
export function outputVariantFor(format: Format, name: string): OutputVariant | undefined {
  const variants = format.outputVariants ?? {};
  const ending = longestEnding(name, Object.keys(variants));
  return ending === undefined ? undefined : variants[ending];
}

/** A source's format, decided from its bytes (magic numbers and structure), not its name, with what its sniffer found. */
export async function detectFormat(source: ByteSource): Promise<{ format: KnownFormat; finding: Finding }> {
  const context = await probe(source);
  for (const format of FORMATS) {
    if (!format.read) continue;
    try {
      const finding = await format.sniff(context);
      if (finding) return { format, finding };
    } catch {
      // A sniffer that cannot make sense of the bytes simply says no.
    }
  }
  if (source.size === 0) throw new WeightbridgeError("bad-magic", "file is empty", { file: source.name });
  const hex = [...context.head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  if (looksLikeZip(context.head) && (await context.zip()) === undefined) {
    // The zip reader's own reason when it has one (two members of one name), else "damaged".
    const reason = await openZip(source).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (reason instanceof WeightbridgeError && reason.code === "corrupt") throw reason;
    throw new WeightbridgeError("truncated", `a damaged or incomplete zip archive (starts with ${hex}): if it was downloaded, the download may be incomplete`, {
      file: source.name,
    });
  }
  const readable = FORMATS.filter((f) => f.read)
    .map((f) => f.id)
    .join(", ");
  throw new WeightbridgeError("bad-magic", `not a model file weightbridge can read (starts with ${hex}); it reads ${readable} (weightbridge formats)`, {
    file: source.name,
  });
}

/**
 * The file to read for a path the user gave: the path itself, or the file a format finds in a
 * folder or behind a bare prefix (a SavedModel folder's saved_model.pb, `PREFIX` → `PREFIX.index`).
 */
export async function resolveInputPath(path: string): Promise<string> {
  for (const format of FORMATS) {
    const resolved = await format.resolvePath?.(path);
    if (resolved !== undefined) return resolved;
  }
  return path;
}

/**
 * Options of particular formats, grouped by format id as `formatOptions` (CLI → api → writer,
 * passed through untouched). Each group's type lives in its format's folder.
 */
export interface FormatOptions {
  onnx?: OnnxOptions;
  paddle?: PaddleOptions;
  gguf?: GgufOptions;
}
