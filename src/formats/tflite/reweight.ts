import type { Checkpoint } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { ByteSink } from "../../io/sink.js";
import type { WriteOptions } from "../types.js";
import { settleKeptTemplateValues, settleUnwritten } from "../../tensor/non-weights.js";
import { elementReader } from "../../kernels/elements.js";
import { numelOf } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import { loadModel } from "./load.js";
import { placeTensors, type PlacedTensor } from "./place.js";
import { affineOf, requantize, type Affine } from "./quantization.js";
import { packInt4 } from "./int4.js";

// A .tflite is written by re-weighting a template: the template's bytes are copied and only the
// buffers of tensors the checkpoint gives new values are overwritten, in place and at the same
// length, so operators, options, metadata and signatures stay exactly as the converter wrote them.

const COPY_PIECE = 8 << 20;

interface Replacement {
  offset: number;
  bytes: Uint8Array;
  name: string;
}

export async function reweightTflite(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  const template = options.templateSource;
  if (!template || (options.template?.format !== undefined && options.template.format !== "tflite")) {
    throw new WeightbridgeError(
      "usage",
      "writing .tflite re-weights an existing model: give it with --template model.tflite (weightbridge does not build TFLite graphs)",
      { file: sink.name },
    );
  }
  const model = await loadModel(template);
  const placed = placeTensors(model, template.name, template.size);
  const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
  const used = new Set<string>();
  const replacements = new Map<number, Replacement>();
  const kept: string[] = [];
  for (const p of placed) {
    const tensor = byName.get(p.name);
    if (!tensor) {
      // Shape and index constants (integers without quantization) are the graph's, not weights to fill.
      if (!(p.tensor.quantization === undefined && (p.dtype === "int32" || p.dtype === "int64"))) kept.push(p.name);
      continue;
    }
    used.add(p.name);
    const affine = affineOf(p.tensor, template.name);
    if (affine) for (const suffix of ["_scale", "_zero_point"]) used.add(`${p.name}${suffix}`);
    const bytes = await newBytes(p, tensor, affine, byName, options);
    const previous = replacements.get(p.offset);
    if (previous && !sameBytes(previous.bytes, bytes)) {
      throw new WeightbridgeError("template-mismatch", `shares its buffer with '${previous.name}' in the template but gets different values`, {
        tensor: p.name,
        file: sink.name,
      });
    }
    replacements.set(p.offset, { offset: p.offset, bytes, name: p.name });
  }
  const unused = checkpoint.tensors.filter((t) => !used.has(t.name)).map((t) => t.name);
  report(unused, kept, options, sink.name);
  await copyWithReplacements(
    template,
    [...replacements.values()].sort((a, b) => a.offset - b.offset),
    sink,
  );
}

function report(unused: string[], kept: string[], options: WriteOptions, file: string): void {
  settleUnwritten(unused, options, file);
  settleKeptTemplateValues(kept, options, file);
}

async function newBytes(p: PlacedTensor, tensor: Tensor, affine: Affine | undefined, byName: Map<string, Tensor>, options: WriteOptions): Promise<Uint8Array> {
  const where = { tensor: p.name, file: options.templateSource?.name };
  const shape = p.tensor.shape;
  if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
    throw new WeightbridgeError("template-mismatch", `shape [${tensor.shape.join(", ")}] differs from the template's [${shape.join(", ")}]`, where);
  }
  if (tensor.dtype === p.dtype && (!affine || (await sameQuantization(p.name, affine, byName)))) {
    const bytes = await tensor.data.read();
    if (!p.int4) return bytes;
    return int4Bytes(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), p, where);
  }
  if (!affine) {
    throw new WeightbridgeError(
      "template-mismatch",
      `is ${tensor.dtype} but the template's is ${p.tensor.typeName} (cast with --dtype, or map onto a matching template)`,
      where,
    );
  }
  if (tensor.dtype !== "float32" && tensor.dtype !== "float16" && tensor.dtype !== "float64" && tensor.dtype !== "bfloat16") {
    throw new WeightbridgeError(
      "template-mismatch",
      `is ${tensor.dtype} quantized differently from the template's ${p.tensor.typeName}: read the source with --dequantize`,
      where,
    );
  }
  return quantizeInto(p, affine, await floatValues(tensor), where);
}

function quantizeInto(p: PlacedTensor, affine: Affine, values: Float32Array, where: { tensor: string; file?: string }): Uint8Array {
  const range: [number, number] | undefined = p.int4 ? [-8, 7] : undefined;
  const q = requantize(values, p.dtype, p.tensor.shape, affine, range);
  if (q.clipped > 0) {
    throw new WeightbridgeError(
      "template-mismatch",
      `${q.clipped} of ${values.length} new values fall outside what the template's ${p.tensor.typeName} scales can hold (they would clip); ` +
        "re-quantize the model with the TFLite converter instead",
      where,
    );
  }
  return p.int4 ? int4Bytes(new Int8Array(q.bytes.buffer), p, where) : q.bytes;
}

function int4Bytes(values: Int8Array, p: PlacedTensor, where: { tensor: string; file?: string }): Uint8Array {
  const packed = packInt4(values);
  if (packed instanceof Uint8Array) return packed;
  throw new WeightbridgeError(
    "template-mismatch",
    `value ${values[packed.outOfRange]} at element ${packed.outOfRange} does not fit the template's INT4`,
    where,
  );
}

async function floatValues(tensor: Tensor): Promise<Float32Array> {
  const bytes = await tensor.data.read();
  const read = elementReader(tensor.dtype, bytes);
  return Float32Array.from({ length: numelOf(tensor.shape) }, (_, i) => read(i));
}

/** Integers given with no scale tensors, or with exactly the template's, keep their meaning. */
async function sameQuantization(name: string, affine: Affine, byName: Map<string, Tensor>): Promise<boolean> {
  const scale = byName.get(`${name}_scale`);
  const zeroPoint = byName.get(`${name}_zero_point`);
  return (await valuesEqual(scale, affine.scale)) && (await valuesEqual(zeroPoint, affine.zeroPoint));
}

async function valuesEqual(tensor: Tensor | undefined, values: number[]): Promise<boolean> {
  if (!tensor) return true;
  if (numelOf(tensor.shape) !== values.length) return false;
  const read = elementReader(tensor.dtype, await tensor.data.read());
  return values.every((v, i) => read(i) === Math.fround(v) || read(i) === v);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

async function copyWithReplacements(template: NonNullable<WriteOptions["templateSource"]>, replacements: Replacement[], sink: ByteSink): Promise<void> {
  let at = 0;
  const copyUntil = async (end: number) => {
    while (at < end) {
      const n = Math.min(COPY_PIECE, end - at);
      await sink.write(await template.read(at, n));
      at += n;
    }
  };
  for (const r of replacements) {
    await copyUntil(r.offset);
    await sink.write(r.bytes);
    at += r.bytes.byteLength;
  }
  await copyUntil(template.size);
}
