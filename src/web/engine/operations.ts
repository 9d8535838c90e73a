// What the page does with the library: the same calls the CLI makes, over the files given.
import { inspect, type Inspection } from "../../api/inspect.js";
import { scan, type ScanResult } from "../../api/scan.js";
import { convert, type CastTarget } from "../../api/convert.js";
import { diff, type DiffResult } from "../../api/diff.js";
import { verify, type VerifyOutcome } from "../../api/verify.js";
import { formats } from "../../api/formats.js";
import type { ConversionReport } from "../../api/report.js";
import type { FormatId } from "../../formats/index.js";
import type { JsonObject } from "../../tensor/checkpoint.js";
import type { ByteSource } from "../../io/source.js";
import { formatById, knownFormat } from "../../formats/index.js";
import { fileSetOf, type FileSet } from "./file-set.js";
import type { ModelGroup } from "./grouping.js";
import type { OutputTarget } from "./outputs.js";

export type Progress = (done: number, total: number) => void;

/** `data-verdict` of #scan: dangerous / safe for files with pickles, none for files without. */
export type ScanVerdict = "dangerous" | "safe" | "none" | "unreadable";

export interface ModelView {
  inspection?: Inspection;
  /** Why inspect failed (the CLI's error), when it did. */
  failure?: unknown;
  scan?: ScanResult;
  verdict: ScanVerdict;
}

/**
 * The verdict for a file read as `format` (undefined: no format claimed it, as for a bare
 * pickle). A format without pickles is "none" unless a pickle hidden in it names a dangerous
 * global: what scan could not parse in an HDF5 or protobuf file is no pickle.
 */
export function verdictOf(result: ScanResult | undefined, format: string | undefined): ScanVerdict {
  if (!result) return "unreadable";
  const pickled = format === undefined || knownFormat(format)?.pickles !== undefined;
  if (!pickled) return result.dangerous.some((f) => f.status === "dangerous") ? "dangerous" : "none";
  if (result.verdict === "unsupported") return "unreadable";
  return result.verdict;
}

/** Inspects and scans a model (a hostile pickle is inspected as data and flagged; nothing is executed). */
export async function describeModel(files: FileSet, model: ModelGroup): Promise<ModelView> {
  const view: ModelView = { verdict: "none" };
  // One source for both, so scan reads the header blocks inspect has just cached (a Blob source's close() is a no-op).
  const source = files.source(model.main);
  try {
    view.inspection = await inspect(source);
  } catch (e) {
    view.failure = e;
  }
  try {
    view.scan = await scan(source);
    view.verdict = verdictOf(view.scan, view.inspection?.format ?? view.scan.format);
  } catch {
    // scan could not read it: only a file inspect could not read either is left without a verdict
    view.verdict = view.inspection ? "none" : "unreadable";
  }
  return view;
}

export interface WritableFormat {
  id: FormatId;
  name: string;
  /** The file (or folder) name an output of this format gets. */
  extension: string;
  /** Written as more than one file (a folder is picked for it). */
  several: boolean;
}

export function writableFormats(): WritableFormat[] {
  return formats()
    .filter((f) => f.write)
    .map((f) => {
      const format = formatById(f.id);
      return { id: f.id, name: f.name, extension: format.writesFolder ? "" : f.extensions[0]!, several: format.writesSeveralFiles !== undefined };
    });
}

/** `model.pth` → `model.safetensors`; an output folder (SavedModel) is named after the stem (`model_savedmodel`). */
export function outputName(input: string, format: WritableFormat): string {
  const base = input.split("/").pop()!;
  const stem = base.replace(/(\.index\.json|\.weights\.h5|\.[A-Za-z0-9]+)$/, "") || "model";
  const folder = formatById(format.id).writesFolder;
  return folder ? `${stem}${folder.nameSuffix}` : `${stem}${format.extension}`;
}

/** A model and the files its siblings resolve in. */
export interface ModelRef {
  files: FileSet;
  model: ModelGroup;
}

const sourceOf = (ref: ModelRef): ByteSource => ref.files.source(ref.model.main);

export interface ConvertChoices {
  to: WritableFormat;
  map?: string;
  dtype?: CastTarget;
  /** GGUF output: the ggml type weight matrices are quantized to (`--quantize`). */
  quantize?: string;
  template?: ModelRef;
  keepUnmapped: boolean;
  verifyAfter: boolean;
  /** As the CLI's --select, --layer (one REGEX=KIND each), --strip-prefix, --add-prefix, --keras-config. */
  select?: string;
  layers?: string[];
  stripPrefix?: string;
  addPrefix?: string;
  kerasConfig?: JsonObject;
}

export interface ConvertOutcome {
  report: ConversionReport;
  /** How the output was saved (shown on the page). */
  how: string;
  written: Map<string, Blob>;
  verification?: VerifyOutcome;
}

/**
 * convert() into the chosen target; with verifyAfter, the written files are read back and
 * checked against the source (convert's own --verify needs file outputs: it checks before renaming).
 */
export async function convertModel(
  input: ModelRef,
  choices: ConvertChoices,
  target: OutputTarget,
  name: string,
  onProgress: Progress,
): Promise<ConvertOutcome> {
  const report = await convert(sourceOf(input), name, {
    to: choices.to.id,
    map: choices.map,
    dtype: choices.dtype,
    template: choices.template && sourceOf(choices.template),
    keepUnmapped: choices.keepUnmapped,
    formatOptions: { gguf: { quantize: choices.quantize } },
    select: choices.select,
    layers: choices.layers,
    stripPrefix: choices.stripPrefix,
    addPrefix: choices.addPrefix,
    kerasConfig: choices.kerasConfig,
    openSink: (path) => target.openSink(path),
    onProgress: (written, total) => onProgress(written, total),
  });
  const written = await target.finish();
  const outcome: ConvertOutcome = { report, how: target.how, written };
  const output = fileSetOf(written);
  const main = output.models()[0];
  if (choices.verifyAfter && main) {
    outcome.verification = await verify(sourceOf(input), output.source(main.main), {
      map: choices.map,
      template: choices.template && sourceOf(choices.template),
      select: choices.select,
      layers: choices.layers,
      stripPrefix: choices.stripPrefix,
      addPrefix: choices.addPrefix,
      kerasConfig: choices.kerasConfig,
    });
  }
  return outcome;
}

export function diffModels(a: ModelRef, b: ModelRef, map: string | undefined, onProgress: Progress): Promise<DiffResult> {
  return diff(sourceOf(a), sourceOf(b), { map, onProgress: (done, total) => onProgress(done, total) });
}

export function verifyModels(source: ModelRef, converted: ModelRef, map: string | undefined): Promise<VerifyOutcome> {
  return verify(sourceOf(source), sourceOf(converted), { map });
}
