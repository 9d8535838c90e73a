import type { ByteSource } from "../../io/source.js";
import type { ReadOptions } from "../types.js";
import type { Checkpoint, JsonObject } from "../../tensor/checkpoint.js";
import { makeTensor, sourceData, type LayerHint, type Tensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import { openFirstSibling, paramsNamesFor } from "./files.js";
import { classify, loadInferenceModel, type InferenceModel } from "./model.js";
import { hintFromNames, layerPathOf } from "./framework-names.js";
import { paddleDtypeName } from "./dtypes.js";
import { readTensorRecord } from "./tensor-stream.js";
import type { InferenceFileKind } from "./sniff.js";
import { NAME_TABLE_KEY } from "./keys.js";

/**
 * Reads an inference model from either of its files: the program (.pdmodel ProgramDesc or PIR
 * .json) names the .pdiparams records (sorted persistable variables), .pdiparams.info renames
 * them to the layer's structured names. Tensor bytes stay in the .pdiparams (positioned reads).
 */
export async function readInference(source: ByteSource, options: ReadOptions, sniffed?: InferenceFileKind): Promise<Checkpoint> {
  const kind = sniffed ?? (await classify(source));
  const model = await loadInferenceModel(source, kind);
  let params = source;
  if (kind !== "params") {
    const found = await openFirstSibling(source, paramsNamesFor(source.name));
    if (!found) {
      throw new WeightbridgeError("unsupported", "no .pdiparams beside the program (expected the same stem with .pdiparams)", { file: source.name });
    }
    params = found;
    options.keep?.(params);
  }
  return checkpointFrom(params, model);
}

function role(model: InferenceModel, name: string): string | undefined {
  const trainable = model.info?.get(name)?.trainable;
  return trainable === undefined ? undefined : trainable ? "parameter" : "buffer";
}

async function checkpointFrom(params: ByteSource, model: InferenceModel): Promise<Checkpoint> {
  const warnings: string[] = [];
  const tensors: Tensor[] = [];
  const nameTable: JsonObject = {};
  const used = new Set<string>();
  let offset = 0;
  for (const v of model.saved) {
    if (offset >= params.size) {
      throw new WeightbridgeError("truncated", `the program lists ${model.saved.length} saved variables but the .pdiparams ends after ${tensors.length}`, {
        file: params.name,
        tensor: v.name,
        offset,
      });
    }
    const record = await readTensorRecord(params, offset, v.name);
    if (v.dataType !== undefined && v.dataType !== record.dataType) {
      warnings.push(`${v.name}: program declares ${paddleDtypeName(v.dataType)} but .pdiparams holds ${record.dtype}`);
    }
    if (v.dims && (v.dims.length !== record.shape.length || v.dims.some((d, i) => d >= 0 && d !== record.shape[i]))) {
      warnings.push(`${v.name}: program declares [${v.dims.join(", ")}] but .pdiparams holds [${record.shape.join(", ")}]`);
    }
    const structured = model.info?.get(v.name)?.structuredName;
    const name = structured !== undefined && !used.has(structured) ? structured : v.name;
    used.add(name);
    if (name !== v.name) nameTable[name] = v.name;
    const extra: Partial<Tensor> = {};
    const hint = layerHint(model, v.name, name);
    if (hint) extra.layer = hint;
    const r = role(model, v.name);
    if (r) extra.role = r;
    tensors.push(makeTensor(name, record.dtype, record.shape, sourceData(params, record.dataOffset, record.dataLength), extra));
    offset = record.end;
  }
  if (offset !== params.size) {
    throw new WeightbridgeError(
      "corrupt",
      `${params.size - offset} bytes remain after the ${model.saved.length} records the program names: program and .pdiparams do not match`,
      { file: params.name, offset },
    );
  }
  const meta: JsonObject = {};
  if (model.version) meta.paddle_version = model.version;
  if (Object.keys(nameTable).length > 0) meta[NAME_TABLE_KEY] = nameTable;
  const checkpoint: Checkpoint = { format: "paddle-inference", tensors, meta };
  if (model.namesFrom === "info") warnings.push("no program beside the .pdiparams: names and order come from .pdiparams.info");
  if (warnings.length > 0) checkpoint.warnings = warnings;
  return checkpoint;
}

function layerHint(model: InferenceModel, frameworkName: string, name: string): LayerHint | undefined {
  const fromOps = model.hints.get(frameworkName);
  const path = name !== frameworkName ? layerPathOf(name) : undefined;
  if (fromOps) return path ? { ...fromOps, path } : { ...fromOps };
  return hintFromNames(name !== frameworkName ? name : "", frameworkName);
}
