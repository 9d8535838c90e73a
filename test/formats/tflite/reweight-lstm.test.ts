import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { hasPythonTflite } from "../../helpers/flatc.js";
import { runCli } from "../../helpers/cli.js";
import { kerasAgainstTflite, torchAgainstTflite } from "./lstm-runs.js";

// Fine-tuned LSTM weights back into the deployed mnist_lstm .tflite: torch's weight_ih_l0 /
// weight_hh_l0 (Keras' kernel / recurrent_kernel) cut into TFLite's four per-gate tensors, torch's
// bias_ih_l0 + bias_hh_l0 summed into its gate biases. The re-weighted file, run by TFLite's LSTM
// step in numpy, computes what the torch module (the Keras LSTM in TensorFlow.js) computes.

const MODEL = join(import.meta.dirname, "../../../fixtures/tflite/real/trained_lstm.tflite");
const ACCEPT_CLIP = ["--layer", "^arith\\.constant=lstm(cell_clip=0)"];

// New values: every weight scaled and shifted by seeded noise; torch's bias_hh (zero as mapped) made
// non-zero, so only the sum of the pair gives the right gate biases.
const TUNE_TORCH = `
import sys, torch
torch.manual_seed(7)
state = torch.load(sys.argv[1], weights_only=True)
tuned = {k: v * 0.9 + 0.02 * torch.randn(v.shape) for k, v in state.items()}
tuned["unidirectional_sequence_lstm_0.bias_hh_l0"] = 0.3 * torch.randn(80)
torch.save(tuned, sys.argv[2])
`;

const TUNE_H5 = `
import sys, shutil, numpy as np, h5py
shutil.copyfile(sys.argv[1], sys.argv[2])
rng = np.random.default_rng(7)
with h5py.File(sys.argv[2], "r+") as f:
    for layer in f.attrs["layer_names"]:
        group = f[layer]
        for w in group.attrs["weight_names"]:
            d = group[w]
            d[...] = (d[...] * 0.9 + 0.02 * rng.standard_normal(d.shape)).astype(d.dtype)
`;

/** The template's bytes that differ in the output, as [first, last] offsets. */
function changedSpan(a: Buffer, b: Buffer): [number, number] {
  let first = -1;
  let last = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      if (first < 0) first = i;
      last = i;
    }
  }
  return [first, last];
}

describe.skipIf(!hasPythonTflite() || !hasPythonModules("torch", "numpy"))("PyTorch LSTM weights → the mnist_lstm .tflite", () => {
  it("runs like the torch module (TFLite's LSTM step in numpy against nn.LSTM, 1e-5)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-lstm-back-"));
    const pt = join(dir, "w.pt");
    const tuned = join(dir, "tuned.pt");
    const out = join(dir, "tuned.tflite");
    expect(runCli(["convert", MODEL, pt, "--map", "tflite2torch", ...ACCEPT_CLIP]).code).toBe(0);
    runPython(TUNE_TORCH, [pt, tuned]);

    // The template clips its cell state; torch's LSTM does not: refused unless accepted, naming the tensors.
    const refused = runCli(["convert", tuned, out, "--template", MODEL]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/tensor 'arith\.constant\d*'.* 11 more template tensors.*tflite2torch .*cell or projection clip/);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);

    for (const map of [[], ["--map", "torch2tflite"]]) {
      const r = runCli(["convert", tuned, out, "--template", MODEL, ...map, ...ACCEPT_CLIP, "--force"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
      const template = readFileSync(MODEL);
      const written = readFileSync(out);
      expect(written.length).toBe(template.length);
      expect(changedSpan(template, written)[0]).toBeGreaterThan(0);
      const result = torchAgainstTflite(out, tuned);
      expect(result.peak).toBeLessThan(result.clip);
      expect(Math.max(...result.want)).toBeLessThan(0.999999);
      expect(result.maxRel).toBeLessThan(1e-5);
    }
  });
});

describe.skipIf(!hasPythonTflite() || !hasPythonModules("h5py", "numpy"))("Keras LSTM weights → the mnist_lstm .tflite", () => {
  it("runs like the Keras LSTM in TensorFlow.js (kernel, recurrent_kernel, bias cut per gate)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-lstm-keras-back-"));
    const h5 = join(dir, "w.h5");
    const tuned = join(dir, "tuned.h5");
    const out = join(dir, "tuned.tflite");
    expect(runCli(["convert", MODEL, h5, "--map", "tflite2keras", ...ACCEPT_CLIP]).code).toBe(0);
    runPython(TUNE_H5, [h5, tuned]);
    for (const map of [[], ["--map", "keras2tflite"]]) {
      const r = runCli(["convert", tuned, out, "--template", MODEL, ...map, ...ACCEPT_CLIP, "--force"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
      const result = await kerasAgainstTflite(out, tuned);
      expect(result.peak).toBeLessThan(result.clip);
      expect(result.maxRel).toBeLessThan(1e-5);
    }
  });
});

describe("unchanged LSTM weights give the mnist_lstm template's bytes back", () => {
  it.each([
    ["trained_lstm", "tflite2torch", "torch2tflite", "pt"],
    ["trained_lstm_int8", "tflite2torch", "torch2tflite", "pt"],
    ["trained_lstm", "tflite2keras", "keras2tflite", "h5"],
    ["trained_lstm_int8", "tflite2keras", "keras2tflite", "h5"],
  ])("%s → %s → %s", (name, there, back, ext) => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-lstm-same-"));
    const model = join(MODEL, "..", `${name}.tflite`);
    const weights = join(dir, `w.${ext}`);
    const out = join(dir, "back.tflite");
    expect(runCli(["convert", model, weights, "--map", there, ...ACCEPT_CLIP]).code).toBe(0);
    const r = runCli(["convert", weights, out, "--map", back, "--template", model, ...ACCEPT_CLIP]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(model))).toBe(true);
  });
});
