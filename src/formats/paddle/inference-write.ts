import { dirname, resolve } from "node:path";
import type { ByteSink } from "../../io/sink.js";
import type { ByteSource } from "../../io/source.js";
import type { WriteOptions } from "../types.js";
import type { Checkpoint } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { streamTensor } from "../../kernels/stream.js";
import { WeightbridgeError } from "../../errors.js";
import { settleUnwritten } from "../../tensor/non-weights.js";
import { IR_TO_PADDLE_DTYPE, paddleDtypeName } from "./dtypes.js";
import { infoNameFor, openFirstSibling, programNamesFor, stemOf } from "./files.js";
import { classify, loadInferenceModel, type InferenceModel } from "./model.js";
import { NAME_TABLE_KEY } from "./keys.js";
import type { SavedVar } from "./program.js";
import { tensorRecordHeader } from "./tensor-stream.js";

/**
 * Writes the .pdiparams of an existing inference model: the template program (options.templateSource,
 * its .pdmodel / .json or its .pdiparams) decides which tensors, in which order, with which
 * dtypes and shapes. A tensor is found by framework name, by the structured name
 * .pdiparams.info gives it, or through the checkpoint's StructuredToParameterName@@ table.
 */
export async function writeInference(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  if (!sink.name.toLowerCase().endsWith(".pdiparams") && !sink.name.startsWith("<")) {
    throw new WeightbridgeError("usage", "paddle-inference output must be the .pdiparams file (the program comes from --template)", { file: sink.name });
  }
  const template = options.templateSource;
  if (!template) {
    throw new WeightbridgeError("usage", "writing .pdiparams needs the inference program as template (--template model.pdmodel)", { file: sink.name });
  }
  const kind = await classify(template);
  const model = await loadInferenceModel(template, kind);
  if (model.namesFrom === "info") {
    throw new WeightbridgeError("usage", "the template has no program beside it; pass the .pdmodel (or .json) as template", { file: template.name });
  }
  const plan = planRecords(checkpoint, model, options, sink.name);
  for (const { tensor, dataType } of plan) {
    await sink.write(tensorRecordHeader(dataType, tensor.shape));
    for await (const chunk of streamTensor(tensor)) await sink.write(chunk);
  }
  await copyProgramBeside(template, kind, sink, options);
}

interface PlannedRecord {
  v: SavedVar;
  tensor: Tensor;
  dataType: number;
}

function planRecords(checkpoint: Checkpoint, model: InferenceModel, options: WriteOptions, file: string): PlannedRecord[] {
  const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
  const byFramework = new Map<string, Tensor>();
  const table = checkpoint.meta[NAME_TABLE_KEY];
  if (table && typeof table === "object" && !Array.isArray(table)) {
    for (const [structured, framework] of Object.entries(table)) {
      const t = byName.get(structured);
      if (t && typeof framework === "string") byFramework.set(framework, t);
    }
  }
  const used = new Set<Tensor>();
  const plan = model.saved.map((v): PlannedRecord => {
    const structured = model.info?.get(v.name)?.structuredName;
    const tensor = byName.get(v.name) ?? (structured !== undefined ? byName.get(structured) : undefined) ?? byFramework.get(v.name);
    const label = structured !== undefined ? `${v.name} (${structured})` : v.name;
    if (!tensor)
      throw new WeightbridgeError("template-mismatch", "the program needs this tensor but the checkpoint has none by that name", { file, tensor: label });
    used.add(tensor);
    const dataType = IR_TO_PADDLE_DTYPE[tensor.dtype];
    if (dataType === undefined) throw new WeightbridgeError("unsupported", `Paddle has no ${tensor.dtype} tensor type`, { file, tensor: tensor.name });
    if (v.dataType !== undefined && v.dataType !== dataType) {
      throw new WeightbridgeError("template-mismatch", `the program declares ${paddleDtypeName(v.dataType)} but the tensor is ${tensor.dtype}`, {
        file,
        tensor: label,
      });
    }
    if (v.dims && (v.dims.length !== tensor.shape.length || v.dims.some((d, i) => d >= 0 && d !== tensor.shape[i]))) {
      throw new WeightbridgeError("template-mismatch", `the program declares shape [${v.dims.join(", ")}] but the tensor is [${tensor.shape.join(", ")}]`, {
        file,
        tensor: label,
      });
    }
    return { v, tensor, dataType };
  });
  const unused = checkpoint.tensors.filter((t) => !used.has(t)).map((t) => t.name);
  settleUnwritten(unused, options, file);
  return plan;
}

/**
 * A .pdiparams is useless without its program: when OUT is not the template's own location,
 * the program (and .pdiparams.info) are copied beside it under OUT's stem.
 */
async function copyProgramBeside(template: ByteSource, kind: string, sink: ByteSink, options: WriteOptions): Promise<void> {
  if (!options.siblingSink) return;
  const outStem = stemOf(sink.name);
  if (outStem === undefined) return;
  const program = kind === "params" ? await openFirstSibling(template, programNamesFor(template.name)) : template;
  if (!program) return;
  const copies: Array<[ByteSource, string]> = [[program, `${outStem}${program.name.toLowerCase().endsWith(".json") ? ".json" : ".pdmodel"}`]];
  const infoName = infoNameFor(template.name);
  const info = infoName ? await openFirstSibling(template, [infoName]) : undefined;
  if (info) copies.push([info, `${outStem}.pdiparams.info`]);
  try {
    for (const [source, name] of copies) {
      if (resolve(dirname(sink.name), name) === resolve(source.name)) continue;
      const out = await options.siblingSink(name);
      for (let at = 0; at < source.size; at += 16 << 20) await out.write(await source.read(at, Math.min(16 << 20, source.size - at)));
    }
  } finally {
    if (program !== template) await program.close();
    if (info) await info.close();
  }
}
