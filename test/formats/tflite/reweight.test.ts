import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { memorySource } from "../../../src/io/source.js";
import { MemorySink } from "../../../src/io/sink.js";
import { readTflite } from "../../../src/formats/tflite/read.js";
import { reweightTflite } from "../../../src/formats/tflite/reweight.js";
import { loadModel } from "../../../src/formats/tflite/load.js";
import { placeTensors } from "../../../src/formats/tflite/place.js";
import { bytesData, makeTensor, type Tensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { runCli } from "../../helpers/cli.js";

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");

async function floats(t: Tensor): Promise<Float32Array> {
  return new Float32Array(new Uint8Array(await t.data.read()).buffer);
}

/** The template's weights as float32, each changed by `f`. */
async function changed(name: string, f: (v: number, i: number) => number, dequantize: boolean): Promise<Checkpoint> {
  const source = memorySource(readFileSync(join(REAL, `${name}.tflite`)), `${name}.tflite`);
  const checkpoint = await readTflite(source, { dequantize });
  const tensors: Tensor[] = [];
  for (const t of checkpoint.tensors) {
    if (t.role !== "initializer" || t.dtype !== "float32") continue;
    const values = (await floats(t)).map(f);
    tensors.push(makeTensor(t.name, "float32", t.shape, bytesData(new Uint8Array(values.buffer))));
  }
  return { tensors, meta: {} };
}

async function reweight(name: string, checkpoint: Checkpoint, warnings: string[] = [], allowDrop = false): Promise<Uint8Array> {
  const template = readFileSync(join(REAL, `${name}.tflite`));
  const sink = new MemorySink("out.tflite");
  await reweightTflite(checkpoint, sink, { templateSource: memorySource(template, `${name}.tflite`), warn: (w) => warnings.push(w), allowDrop });
  return sink.bytes();
}

/** Byte ranges of the constant tensors' buffers in a .tflite. */
async function bufferRanges(bytes: Uint8Array): Promise<Array<[number, number]>> {
  const model = await loadModel(memorySource(bytes, "x.tflite"));
  return placeTensors(model, "x.tflite", bytes.byteLength).map((p) => [p.offset, p.offset + p.byteLength]);
}

function outside(bytes: Uint8Array, ranges: Array<[number, number]>): Buffer {
  const keep: Uint8Array[] = [];
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    keep.push(bytes.subarray(at, start));
    at = Math.max(at, end);
  }
  keep.push(bytes.subarray(at));
  return Buffer.concat(keep);
}

describe("tflite: re-weighting a template", () => {
  it("float: new values read back; every byte outside the weight buffers is the template's", async () => {
    const template = readFileSync(join(REAL, "hello_world_float.tflite"));
    const wanted = await changed("hello_world_float", (v, i) => v * 0.5 + i * 1e-3, false);
    const out = await reweight("hello_world_float", wanted);
    expect(out.byteLength).toBe(template.byteLength);
    const ranges = await bufferRanges(template);
    expect(outside(out, ranges).equals(outside(template, ranges))).toBe(true);
    expect(Buffer.from(out).equals(template)).toBe(false);
    const back = await readTflite(memorySource(out, "out.tflite"));
    for (const t of wanted.tensors) {
      const got = back.tensors.find((b) => b.name === t.name)!;
      expect(Buffer.from(await got.data.read()).equals(Buffer.from(await t.data.read())), t.name).toBe(true);
    }
  });

  it("int8: the template's own dequantized values re-quantize to the identical file", async () => {
    const template = readFileSync(join(REAL, "hello_world_int8.tflite"));
    const out = await reweight("hello_world_int8", await changed("hello_world_int8", (v) => v, true));
    expect(Buffer.from(out).equals(template)).toBe(true);
  });

  it("int8: new float values are re-quantized with the template's scales (within half a step), the rest kept", async () => {
    const template = readFileSync(join(REAL, "hello_world_int8.tflite"));
    const wanted = await changed("hello_world_int8", (v) => v * 0.75, true);
    const out = await reweight("hello_world_int8", wanted);
    const ranges = await bufferRanges(template);
    expect(outside(out, ranges).equals(outside(template, ranges))).toBe(true);
    const back = await readTflite(memorySource(out, "out.tflite"), { dequantize: true });
    const scales = (await readTflite(memorySource(template, "t.tflite"))).meta.quantization as Record<string, { scale: number[] }>;
    let differs = false;
    for (const t of wanted.tensors) {
      const want = await floats(t);
      const got = await floats(back.tensors.find((b) => b.name === t.name)!);
      const step = scales[t.name]!.scale[0]!;
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual((step / 2) * (1 + 1e-5));
        if (got[i] !== want[i]) differs = true;
      }
    }
    expect(differs).toBe(true);
  });

  it("int8: values the template's scales cannot hold are refused, naming the tensor and the clipping", async () => {
    const wanted = await changed("hello_world_int8", (v) => v * 3, true);
    const error = await reweight("hello_world_int8", wanted).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightbridgeError);
    expect((error as WeightbridgeError).code).toBe("template-mismatch");
    expect((error as WeightbridgeError).message).toMatch(/outside what the template's INT(8|32) scales can hold \(they would clip\)/);
    expect((error as WeightbridgeError).location.tensor).toBeDefined();
  });

  it("a wrong shape, and a tensor the template lacks under --strict, are refused", async () => {
    const bad: Checkpoint = { tensors: [makeTensor("sequential/dense/MatMul", "float32", [1, 16], bytesData(new Uint8Array(64)))], meta: {} };
    await expect(reweight("hello_world_float", bad)).rejects.toThrow(/shape \[1, 16\] differs from the template's \[16, 1\]/);
    const extra: Checkpoint = { tensors: [makeTensor("not/in/template", "float32", [1], bytesData(new Uint8Array(4)))], meta: {} };
    // A tensor the template has no place for would be lost: refused by name unless allowDrop.
    await expect(reweight("hello_world_float", extra)).rejects.toThrow(
      /^1 tensor\(s\) have no place in the template: not\/in\/template; they would be lost: .*--allow-drop/,
    );
    // The template's 6 weights would keep their values: refused by name unless keepTemplateValues.
    await expect(reweight("hello_world_float", extra, [], true)).rejects.toThrow(
      /^6 template weight\(s\) get no value from the input and would keep the template's: sequential\/dense_1\/BiasAdd\/ReadVariableOp, .*--keep-template-values/,
    );
    const warnings: string[] = [];
    const template = memorySource(readFileSync(join(REAL, "hello_world_float.tflite")), "t.tflite");
    await reweightTflite(extra, new MemorySink("out.tflite"), {
      templateSource: template,
      keepTemplateValues: true,
      allowDrop: true,
      warn: (w) => warnings.push(w),
    });
    expect(warnings.join("\n")).toMatch(/1 tensor\(s\) have no place in the template: not\/in\/template \(not written, --allow-drop\)/);
    expect(warnings.join("\n")).toMatch(/6 template weight\(s\) got no value from the input and keep the template's \(--keep-template-values\)/);
    const sink = new MemorySink("out.tflite");
    await expect(reweightTflite(extra, sink, { templateSource: template, strict: true })).rejects.toThrow(/no place in the template/);
  });

  it("CLI: .tflite → safetensors → .tflite --template gives the template back byte for byte (quantized too)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-cli-"));
    for (const name of ["hello_world_float", "person_detect"]) {
      const model = join(REAL, `${name}.tflite`);
      const st = join(dir, `${name}.safetensors`);
      const out = join(dir, `${name}.tflite`);
      expect(runCli(["convert", model, st]).code).toBe(0);
      const r = runCli(["convert", st, out, "--template", model]);
      // Graph constants (a RESHAPE's shape) are the template's own: the mapping keeps its copy and says so.
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      expect(readFileSync(out).equals(readFileSync(model))).toBe(true);
    }
  });

  it("CLI: writing .tflite without a template says to give one", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-cli-"));
    const st = join(dir, "w.safetensors");
    expect(runCli(["convert", join(REAL, "hello_world_float.tflite"), st]).code).toBe(0);
    const r = runCli(["convert", st, join(dir, "out.tflite")]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/--template model\.tflite/);
  });
});
