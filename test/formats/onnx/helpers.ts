import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "../../../src/tensor/tensor.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import type { DType } from "../../../src/tensor/dtype.js";
import { type ByteSink, atomicFileSink } from "../../../src/io/sink.js";
import { type ByteSource, fileSource } from "../../../src/io/source.js";
import { afterAll } from "vitest";
import { onnxFormat } from "../../../src/formats/onnx/format.js";
import type { WriteOptions } from "../../../src/formats/types.js";

export const FIXTURES = new URL("../../../fixtures/onnx/", import.meta.url).pathname;

/** Every committed .onnx fixture that has an expected JSON beside it. */
export const FIXTURE_FILES = [
  "real/three_layer_pytorch.onnx",
  "real/three_layer_keras.onnx",
  "torch_conv_lstm.onnx",
  "torch_conv_lstm_external.onnx",
  "torch_embed_gru.onnx",
  "typed_tensors.onnx",
];

export interface ExpectedTensor { name: string; dtype: string; shape: number[]; sha256: string; role: string }
export interface Expected { format: string; tensors: ExpectedTensor[]; meta: Record<string, unknown> }

export function expectedFor(file: string): Expected {
  return JSON.parse(readFileSync(join(FIXTURES, `${file}.expected.json`), "utf8"));
}

export async function sha256Of(tensor: Tensor): Promise<string> {
  return createHash("sha256").update(await tensor.data.read()).digest("hex");
}

const opened: ByteSource[] = [];
afterAll(async () => {
  for (const s of opened.splice(0)) await s.close();
});

/** fileSource, closed (with any side files the reader kept) after the test file. */
export async function openFile(path: string): Promise<ByteSource> {
  const source = await fileSource(path);
  opened.push(source);
  return source;
}

export const keep = (source: ByteSource): void => void opened.push(source);

export async function readFixture(file: string): Promise<Checkpoint> {
  return onnxFormat.read!(await openFile(join(FIXTURES, file)), { keep });
}

export async function summary(checkpoint: Checkpoint): Promise<Array<Omit<ExpectedTensor, "role"> & { role?: string }>> {
  const out = [];
  for (const t of checkpoint.tensors) out.push({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: await sha256Of(t), role: t.role });
  return out;
}

/** The new weights for torch_conv_lstm.onnx and the outputs torch computed with them. */
export function reweightCase(): {
  checkpoint: Checkpoint;
  input: { name: string; shape: number[]; data: number[] };
  output: { name: string; shape: number[]; new: number[]; old: number[] };
} {
  const json = JSON.parse(readFileSync(join(FIXTURES, "reweight_weights.json"), "utf8"));
  const blob = readFileSync(join(FIXTURES, "reweight_weights.bin"));
  const tensors = (json.tensors as Array<{ name: string; dtype: DType; shape: number[]; offset: number; length: number }>).map((t) =>
    makeTensor(t.name, t.dtype, t.shape, bytesData(new Uint8Array(blob.subarray(t.offset, t.offset + t.length)))),
  );
  return { checkpoint: { tensors, meta: {} }, input: json.input, output: json.output };
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "wb-onnx-"));
}

/** Writes with the ONNX format to `dir/name`, side files beside it, committing all of them. */
export async function writeToDir(checkpoint: Checkpoint, dir: string, name: string, options: WriteOptions = {}): Promise<string> {
  const path = join(dir, name);
  const sink = await atomicFileSink(path);
  const siblings: ByteSink[] = [];
  try {
    await onnxFormat.write!(checkpoint, sink, {
      ...options,
      siblingSink: async (sibling) => {
        const s = await atomicFileSink(join(dir, sibling));
        siblings.push(s);
        return s;
      },
    });
  } catch (e) {
    await sink.abort();
    for (const s of siblings) await s.abort();
    throw e;
  }
  await sink.commit();
  for (const s of siblings) await s.commit();
  return path;
}
