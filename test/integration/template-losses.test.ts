import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { convert, read, write } from "../../src/index.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";

// Issue 27, "nothing lost without a record", templates: a re-weighted template (TFLite, ONNX)
// whose weights the input lacks would keep the template's values (the output computes neither
// model): refused by name unless --keep-template-values. A tensor whose shape differs from its
// template namesake was left out silently: refused with both shapes unless --allow-drop.
// Real files: hello_world_float.tflite and trained_lstm.tflite (TensorFlow's converter),
// torch_conv_lstm.onnx (torch.onnx.export), state_dict.pt (torch.save).
const FIXTURES = join(import.meta.dirname, "../../fixtures");
const TFLITE = join(FIXTURES, "tflite/real");

/** The file's tensors without `leave`, as safetensors (or with `reshape` given another shape). */
async function partOf(file: string, out: string, leave: string, reshape?: number[]): Promise<void> {
  const checkpoint = await read(file, { dequantize: true });
  try {
    const tensors = checkpoint.tensors
      .filter((t) => reshape || t.name !== leave)
      .map((t) => (reshape && t.name === leave ? makeTensor(t.name, t.dtype, reshape, t.data) : t));
    await write({ ...checkpoint, tensors, meta: {}, structure: undefined }, out, { format: "safetensors" });
  } finally {
    await checkpoint.close();
  }
}

describe("template losses are refused by name (issue 27)", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-template-losses-"));
  const lstm = join(TFLITE, "trained_lstm.tflite");
  let lstmWeight = "";

  beforeAll(async () => {
    const checkpoint = await read(lstm);
    lstmWeight = checkpoint.tensors.find((t) => t.layer?.kind === "lstm" && t.shape.length === 2)!.name;
    await checkpoint.close();
    await partOf(lstm, join(dir, "lstm-part.safetensors"), lstmWeight);
    await partOf(join(FIXTURES, "onnx/torch_conv_lstm.onnx"), join(dir, "onnx-part.safetensors"), "head.bias");
  });

  it("re-weighting a TFLite LSTM without one of its weights: refused naming it; --keep-template-values keeps the template's", () => {
    const out = join(dir, "lstm.tflite");
    // The LSTM has a cell clip torch's nn.LSTM lacks: the override says its cell state never reaches it.
    const clip = ["--layer", "^arith=lstm(cell_clip=0)"];
    const refused = runCli(["convert", join(dir, "lstm-part.safetensors"), out, "--template", lstm, ...clip]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`1 template weight(s) get no value from the input and would keep the template's: ${lstmWeight};`);
    expect(refused.stderr).toContain("--keep-template-values");
    const kept = runCli(["convert", join(dir, "lstm-part.safetensors"), out, "--template", lstm, ...clip, "--keep-template-values"]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stderr).toContain(`keep the template's (--keep-template-values): ${lstmWeight}`);
    // Every weight came from the input or the template: the template back byte for byte.
    expect(readFileSync(out).equals(readFileSync(lstm))).toBe(true);
  });

  it("re-weighting an ONNX graph without one of its weights (library): refused naming it, keepTemplateValues converts", async () => {
    const template = join(FIXTURES, "onnx/torch_conv_lstm.onnx");
    const input = join(dir, "onnx-part.safetensors");
    await expect(convert(input, join(dir, "r.onnx"), { template })).rejects.toThrow(
      /^1 template weight\(s\) get no value from the input and would keep the template's: head\.bias;/,
    );
    const report = await convert(input, join(dir, "r.onnx"), { template, keepTemplateValues: true });
    expect(report.missing).toEqual(["head.bias"]);
    expect(report.warnings.join("\n")).toContain("keep the template's (--keep-template-values): head.bias");
  });

  it("--template with a tensor of another shape (torch output): refused naming it and both shapes; --allow-drop lists it as dropped", async () => {
    const template = join(FIXTURES, "pytorch/state_dict.pt");
    const checkpoint = await read(template);
    const first = checkpoint.tensors.find((t) => t.shape.length === 2)!;
    const shape = [...first.shape];
    await checkpoint.close();
    const input = join(dir, "reshaped.safetensors");
    await partOf(template, input, first.name, [shape[1]!, shape[0]!]);
    const refused = runCli(["convert", input, join(dir, "reshaped.pt"), "--template", template]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `${first.name} is [${shape[1]}, ${shape[0]}] but the template's ${first.name} is [${shape.join(", ")}]: the template is of another model`,
    );
    const report = join(dir, "reshaped.json");
    const allowed = runCli(["convert", input, join(dir, "reshaped.pt"), "--template", template, "--allow-drop", "--report", report]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(report, "utf8")).dropped).toEqual([first.name]);
  });
});

// What the input holds and the template has no place for is not written: a loss unless it is a
// known non-weight (src/tensor/non-weights.ts). Before: a warning and the report's unmatched, exit 0.
describe("input tensors the template has no place for (issue 27)", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-template-leftovers-"));
  const template = join(FIXTURES, "pytorch/state_dict.pt");
  const input = join(dir, "more.safetensors");

  beforeAll(async () => {
    const checkpoint = await read(template);
    try {
      const extra = [
        makeTensor("head2.weight", "float32", [2, 3], bytesData(new Uint8Array(24))),
        makeTensor("global_step", "int64", [], bytesData(new Uint8Array(8))),
      ];
      await write({ ...checkpoint, tensors: [...checkpoint.tensors, ...extra], meta: {}, structure: undefined }, input, { format: "safetensors" });
    } finally {
      await checkpoint.close();
    }
  });

  it("CLI: a weight the template lacks is refused naming it and the fix; --allow-drop lists it (and the counter) in dropped", () => {
    const out = join(dir, "out.pt");
    const refused = runCli(["convert", input, out, "--template", template]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain("1 tensor(s) of the input have no place in the template and would be lost: head2.weight;");
    expect(refused.stderr).toContain("--allow-drop");
    const report = join(dir, "r.json");
    const allowed = runCli(["convert", input, out, "--template", template, "--allow-drop", "--report", report]);
    expect(allowed.code, allowed.stderr).toBe(0);
    const r = JSON.parse(readFileSync(report, "utf8"));
    expect(r.dropped).toEqual(["global_step", "head2.weight"]);
    expect(r.warnings.join("\n")).toContain("left out (--allow-drop): head2.weight");
    expect(r.warnings.join("\n")).toContain("not model weights (counter): global_step");
  });

  it("library: a known non-weight alone is dropped with a note, no flag needed; --strict still refuses it", async () => {
    const counterOnly = join(dir, "counter.safetensors");
    const checkpoint = await read(input);
    try {
      const tensors = checkpoint.tensors.filter((t) => t.name !== "head2.weight");
      await write({ ...checkpoint, tensors, meta: {}, structure: undefined }, counterOnly, { format: "safetensors" });
    } finally {
      await checkpoint.close();
    }
    await expect(convert(input, join(dir, "lib.pt"), { template })).rejects.toThrow(
      /no place in the template and would be lost: head2\.weight; .*--allow-drop/,
    );
    const report = await convert(counterOnly, join(dir, "lib.pt"), { template });
    expect(report.dropped).toEqual(["global_step"]);
    expect(report.unmatched).toEqual(["global_step"]);
    await expect(convert(counterOnly, join(dir, "strict.pt"), { template, strict: true })).rejects.toThrow(
      /--strict: .*unexpected \(unmatched\) keys: global_step/,
    );
  });

  it("TFLite: a quantized tensor's scale travels with it; one that differs from the template's is refused, not ignored", async () => {
    const model = join(TFLITE, "person_detect.tflite");
    const st = join(dir, "person.safetensors");
    expect(runCli(["convert", model, st]).code).toBe(0);
    const checkpoint = await read(st);
    const scale = checkpoint.tensors.find((t) => t.name === "MobilenetV1/Conv2d_0/weights/read_scale")!;
    const changed = join(dir, "person-rescaled.safetensors");
    try {
      const bytes = new Float32Array(new Uint8Array(await scale.data.read()).slice().buffer).map((v) => v * 2);
      const tensors = checkpoint.tensors.map((t) => (t === scale ? makeTensor(t.name, t.dtype, [...t.shape], bytesData(new Uint8Array(bytes.buffer))) : t));
      await write({ ...checkpoint, tensors, meta: {}, structure: undefined }, changed, { format: "safetensors" });
    } finally {
      await checkpoint.close();
    }
    const same = runCli(["convert", st, join(dir, "same.tflite"), "--template", model]);
    expect(same.code, same.stderr).toBe(0);
    expect(readFileSync(join(dir, "same.tflite")).equals(readFileSync(model))).toBe(true);
    // Before: the changed scale had no place in the template and was left out; the integers were written under the template's scale.
    const refused = runCli(["convert", changed, join(dir, "rescaled.tflite"), "--template", model]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(scale.name.replace(/_scale$/, ""));
    expect(refused.stderr).toContain("quantized differently from the template's");
  });
});
