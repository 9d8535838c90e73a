import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { MemorySink } from "../../../src/io/sink.js";
import { memorySource } from "../../../src/io/source.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import { onnxFormat } from "../../../src/formats/onnx/format.js";
import { decodeModel } from "../../../src/formats/onnx/schema.js";
import { isWeightbridgeError } from "../../../src/errors.js";
import { FIXTURES, readFixture, reweightCase, tempDir, writeToDir, openFile, keep } from "./helpers.js";

const TEMPLATE = join(FIXTURES, "torch_conv_lstm.onnx");

async function reweight(checkpoint: Checkpoint, options: { strict?: boolean; template?: string; keepTemplateValues?: boolean; allowDrop?: boolean } = {}) {
  const warnings: string[] = [];
  const sink = new MemorySink("out.onnx");
  await onnxFormat.write!(checkpoint, sink, {
    templateSource: await openFile(options.template ?? TEMPLATE),
    strict: options.strict,
    keepTemplateValues: options.keepTemplateValues,
    allowDrop: options.allowDrop,
    warn: (m) => warnings.push(m),
  });
  return { bytes: sink.bytes(), warnings };
}

async function run(model: Uint8Array | string): Promise<Float32Array> {
  const { input } = reweightCase();
  const session = await ort.InferenceSession.create(model as never);
  const feeds = { [input.name]: new ort.Tensor("float32", Float32Array.from(input.data), input.shape) };
  const result = await session.run(feeds);
  return result[session.outputNames[0]!]!.data as Float32Array;
}

function expectClose(actual: Float32Array, expected: number[]) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-5));
}

describe("onnx re-weighting a torch-exported graph", () => {
  it("onnxruntime-node gives the outputs torch computed with the new weights", async () => {
    const { checkpoint, output } = reweightCase();
    expectClose(await run(TEMPLATE), output.old); // the template as exported
    const { bytes, warnings } = await reweight(checkpoint);
    expect(warnings).toEqual([]);
    expectClose(await run(bytes), output.new);
    expect(Math.max(...output.new.map((v, i) => Math.abs(v - output.old[i]!)))).toBeGreaterThan(0.01);
    // The graph is the template's: same nodes and metadata.
    const before = decodeModel(new Uint8Array(await readFile(TEMPLATE)), "t");
    const after = decodeModel(bytes, "o");
    expect(after.graph!.node.map((n) => n.name)).toEqual(before.graph!.node.map((n) => n.name));
    expect(after.producer_name).toBe("pytorch");
  });

  it("a template weight the input lacks is refused by name; with keepTemplateValues it keeps the template's (external data kept)", async () => {
    const { checkpoint, output } = reweightCase();
    const partial = { ...checkpoint, tensors: checkpoint.tensors.filter((t) => t.name !== "head.bias") };
    const refused = await reweight(partial).catch((e) => e);
    expect(isWeightbridgeError(refused) && refused.code).toBe("template-mismatch");
    expect(refused.message).toMatch(/^1 template weight\(s\) get no value from the input and would keep the template's: head\.bias; .*--keep-template-values/);
    const warnings: string[] = [];
    const dir = await tempDir();
    const path = await writeToDir(partial, dir, "out.onnx", {
      templateSource: await openFile(join(FIXTURES, "torch_conv_lstm_external.onnx")),
      keepTemplateValues: true,
      warn: (m) => warnings.push(m),
    });
    expect(warnings).toEqual(["1 template weight(s) got no value from the input and keep the template's (--keep-template-values): head.bias"]);
    const model = decodeModel(new Uint8Array(await readFile(path)), path);
    expect(model.graph!.initializer.every((t) => t.data_location === 1)).toBe(true);
    const back = await onnxFormat.read!(await openFile(path), { keep });
    const templateBias = (await readFixture("torch_conv_lstm_external.onnx")).tensors.find((t) => t.name === "head.bias")!;
    expect(await back.tensors.find((t) => t.name === "head.bias")!.data.read()).toEqualBytes(await templateBias.data.read());
    // head.bias is the old one, so the result is neither output exactly; with all weights it is the new one.
    const full = await writeToDir(checkpoint, dir, "full.onnx", { templateSource: await openFile(join(FIXTURES, "torch_conv_lstm_external.onnx")) });
    expectClose(await run(full), output.new);
  });

  it("a shape or dtype mismatch is a template-mismatch error naming the tensor", async () => {
    const { checkpoint } = reweightCase();
    const bad = checkpoint.tensors.map((t) => (t.name === "head.weight" ? makeTensor(t.name, "float32", [6, 3], t.data) : t));
    const error = await reweight({ ...checkpoint, tensors: bad }).catch((e) => e);
    expect(isWeightbridgeError(error) && error.code).toBe("template-mismatch");
    expect(error.location.tensor).toBe("head.weight");
    expect(error.message).toBe("template initializer is float32[3, 6] but the weights give float32[6, 3]");
    const half = checkpoint.tensors.map((t) => (t.name === "head.bias" ? makeTensor(t.name, "float16", [3], bytesData(new Uint8Array(6))) : t));
    const error2 = await reweight({ ...checkpoint, tensors: half }).catch((e) => e);
    expect(error2.code).toBe("template-mismatch");
  });

  it("refuses unused source tensors as a loss naming them; --allow-drop leaves them out with a warning, --strict fails on them", async () => {
    const { checkpoint } = reweightCase();
    const extra = { ...checkpoint, tensors: [...checkpoint.tensors, makeTensor("bn.running_mean", "float32", [4], bytesData(new Uint8Array(16)))] };
    const refused = await reweight(extra).catch((e) => e);
    expect(isWeightbridgeError(refused) && refused.code).toBe("template-mismatch");
    expect(refused.message).toMatch(/^1 tensor\(s\) have no place in the template: bn\.running_mean; they would be lost: .*--allow-drop/);
    const { warnings } = await reweight(extra, { allowDrop: true });
    expect(warnings).toEqual(["1 tensor(s) have no place in the template: bn.running_mean (not written, --allow-drop)"]);
    // A known non-weight (a training counter) is left out with a note, no flag needed.
    const counter = { ...checkpoint, tensors: [...checkpoint.tensors, makeTensor("global_step", "int64", [], bytesData(new Uint8Array(8)))] };
    expect((await reweight(counter)).warnings).toEqual(["1 tensor(s) have no place in the template: global_step (not written: not model weights)"]);
    const error = await reweight(extra, { strict: true }).catch((e) => e);
    expect(isWeightbridgeError(error) && error.code).toBe("template-mismatch");
    expect(error.message).toContain("--strict");
  });

  it("a dense tensor replaces a sparse initializer; other parts of the template survive", async () => {
    const typed = await readFixture("typed_tensors.onnx");
    const replacement = makeTensor("sparse_linear", "float32", [2, 4], bytesData(new Uint8Array(new Float32Array([8, 7, 6, 5, 4, 3, 2, 1]).buffer)));
    const { bytes, warnings } = await reweight(
      { tensors: [replacement], meta: {} },
      { template: join(FIXTURES, "typed_tensors.onnx"), keepTemplateValues: true },
    );
    expect(warnings[0]).toMatch(/^25 template weight\(s\) got no value from the input and keep the template's/);
    const back = await onnxFormat.read!(memorySource(bytes, "o.onnx"), {});
    const got = back.tensors.find((t) => t.name === "sparse_linear")!;
    expect(got.role).toBe("initializer");
    expect(Array.from(new Float32Array((await got.data.read()).slice().buffer))).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    for (const t of typed.tensors.filter((t) => t.name !== "sparse_linear")) {
      const b = back.tensors.find((x) => x.name === t.name)!;
      expect(await b.data.read(), t.name).toEqualBytes(await t.data.read());
    }
  });
});
