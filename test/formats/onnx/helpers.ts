import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import type { DType } from "../../../src/tensor/dtype.js";
import { type ByteSink, atomicFileSink } from "../../../src/io/sink.js";
import { type ByteSource, fileSource } from "../../../src/io/source.js";
import { afterAll } from "vitest";
import { onnxFormat } from "../../../src/formats/onnx/format.js";
import type { WriteOptions } from "../../../src/formats/types.js";
import { describeTensors, loadExpected, sha256Of, type ExpectedFile, type ExpectedTensor } from "../../helpers/expected.js";
import { EXPECTED_SUFFIX, fixture, fixturesWithExpected } from "../../helpers/fixtures.js";

export const FIXTURES = `${fixture("onnx")}/`;

/** Every committed .onnx fixture that has an expected JSON beside it (relative to fixtures/onnx/). */
export const FIXTURE_FILES = fixturesWithExpected()
  .filter((file) => file.startsWith("onnx/"))
  .map((file) => file.slice("onnx/".length));

export { sha256Of };

export function expectedFor(file: string): ExpectedFile {
  return loadExpected(join(FIXTURES, file + EXPECTED_SUFFIX));
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

/** The fingerprint of each tensor with its role (initializer, constant ...), as the ONNX expected JSON lists them. */
export function summary(checkpoint: Pick<Checkpoint, "tensors">): Promise<ExpectedTensor[]> {
  return describeTensors(checkpoint, { withRole: true });
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
