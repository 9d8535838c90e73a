import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { runCli } from "../../helpers/cli.js";

// Fine-tuned torch weights back into the deployed .tflite: the tflite2torch preset run backwards
// lays them out as the template's tensors; quantized ones are re-quantized with its scales.

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");

const TORCH_SCALE = `
import sys, torch
state = torch.load(sys.argv[1], weights_only=True)
torch.save({k: v * float(sys.argv[3]) for k, v in state.items()}, sys.argv[2])
`;

describe.skipIf(!hasPythonModules("torch"))("PyTorch weights → a .tflite template (re-weighting)", () => {
  it.each([
    ["hello_world_float", 0.5],
    ["hello_world_int8", 0.9],
    ["person_detect", 0.9],
  ])("%s: weights ×%s land on the template's tensors in its layouts", async (name, factor) => {
    const dir = mkdtempSync(join(tmpdir(), "torch-tflite-"));
    const model = join(REAL, `${name}.tflite`);
    const pt = join(dir, "w.pt");
    const tuned = join(dir, "tuned.pt");
    const out = join(dir, "tuned.tflite");
    expect(runCli(["convert", model, pt, "--map", "tflite2torch"]).code).toBe(0);
    runPython(TORCH_SCALE, [pt, tuned, String(factor)]);
    const r = runCli(["convert", tuned, out, "--template", model]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    const { readTflite } = await import("../../../src/formats/tflite/read.js");
    const { fileSource } = await import("../../../src/io/source.js");
    const [before, after] = await Promise.all([fileSource(model), fileSource(out)].map(async (s) => readTflite(await s, { dequantize: true })));
    const quantization = (await readTflite(await fileSource(model))).meta.quantization as Record<string, { scale: number[] }> | undefined;
    let compared = 0;
    for (const t of before!.tensors.filter((x) => x.dtype === "float32")) {
      const was = new Float32Array(new Uint8Array(await t.data.read()).buffer);
      const now = new Float32Array(new Uint8Array(await after!.tensors.find((x) => x.name === t.name)!.data.read()).buffer);
      const step = Math.max(...(quantization?.[t.name]?.scale ?? [0]));
      // Exact for float tensors; else half the (largest channel's) step, plus float32 rounding of both values.
      const off: number[] = [];
      for (let i = 0; i < was.length; i++) {
        const want = Math.fround(was[i]! * factor);
        if (Math.abs(now[i]! - want) > (step === 0 ? 0 : step / 2 + Math.abs(want) * 2 ** -22)) off.push(i);
      }
      expect(off, t.name).toEqual([]);
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  });
});
