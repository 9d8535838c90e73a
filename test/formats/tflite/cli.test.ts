import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { runCli } from "../../helpers/cli.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");

describe("tflite: inspect, scan, formats", () => {
  it("inspect --json shows operators per type, subgraphs, signatures and each tensor's quantization", () => {
    const r = runCli(["inspect", "--json", join(REAL, "person_detect.tflite")]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { format: string; tensors: Array<{ name: string }>; meta: Record<string, any> };
    expect(out.format).toBe("tflite");
    // Opcodes of this TOCO-era file are in deprecated_builtin_code (builtin_code 0 would read as ADD).
    expect(out.meta.tflite.operators).toEqual({ DEPTHWISE_CONV_2D: 14, CONV_2D: 14, AVERAGE_POOL_2D: 1, RESHAPE: 1, SOFTMAX: 1 });
    expect(out.meta.tflite.subgraphs).toHaveLength(1);
    expect(out.meta.quantization["MobilenetV1/Conv2d_1_pointwise/weights/read"]).toMatchObject({ axis: 0, type: "INT8" });
    expect(out.meta.quantization["MobilenetV1/Conv2d_1_pointwise/weights/read"].scale).toHaveLength(16);
    const hello = JSON.parse(runCli(["inspect", "--json", join(REAL, "hello_world_float.tflite")]).stdout) as { meta: Record<string, any> };
    expect(hello.meta.tflite.signatures).toEqual([{ key: "serving_default", subgraph: 0, inputs: ["dense_input"], outputs: ["dense_2"] }]);
    expect(hello.meta.tflite.operators).toEqual({ FULLY_CONNECTED: 3 });
    expect(hello.meta.quantization).toBeUndefined();
  });

  it("scan: a .tflite holds no pickles", () => {
    const r = runCli(["scan", join(REAL, "hello_world_int8.tflite")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no pickles/);
  });

  it("formats lists tflite, and the presets tflite2torch and tflite2keras", () => {
    expect(runCli(["formats"]).stdout).toMatch(/tflite/);
    const r = runCli(["convert", join(REAL, "hello_world_float.tflite"), join(mkdtempSync(join(tmpdir(), "tflite-")), "x.pt"), "--map", "nope"]);
    expect(r.stderr).toMatch(/tflite2keras/);
    expect(r.stderr).toMatch(/tflite2torch/);
  });

  it("--map tflite2torch and tflite2keras refuse an LSTM with a cell clip, naming the tensor and the override", () => {
    const r = runCli(["convert", join(REAL, "trained_lstm.tflite"), join(mkdtempSync(join(tmpdir(), "tflite-")), "x.pt"), "--map", "tflite2torch"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tensor 'arith\.constant\d*': this TFLite LSTM has what torch's nn\.LSTM cannot compute: a cell or projection clip/);
    const keras = runCli(["convert", join(REAL, "trained_lstm.tflite"), join(mkdtempSync(join(tmpdir(), "tflite-")), "x.h5"), "--map", "tflite2keras"]);
    expect(keras.code).toBe(1);
    expect(keras.stderr).toMatch(/what Keras' LSTM cannot compute/);
  });

  it.skipIf(!hasPythonModules("torch"))("a torch template with BatchNorm: the summary says the converter folded them", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-bn-"));
    const template = join(dir, "template.pt");
    runPython(
      `
import sys, torch
root = torch.nn.Module(); root.sequential = torch.nn.Module()
root.sequential.dense = torch.nn.Linear(1, 16); root.sequential.dense_1 = torch.nn.Linear(16, 16); root.sequential.dense_2 = torch.nn.Linear(16, 1)
root.sequential.norm = torch.nn.BatchNorm1d(16)
torch.save(root.state_dict(), sys.argv[1])
`,
      [template],
    );
    const r = runCli(["convert", join(REAL, "hello_world_float.tflite"), join(dir, "out.pt"), "--map", "tflite2torch", "--template", template]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/folded every BatchNorm into the convolution before it: the template's 1 BatchNorm layer\(s\) \(sequential\.norm\.running_mean/);
  });
});
