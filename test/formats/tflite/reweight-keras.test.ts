import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { runCli } from "../../helpers/cli.js";

// keras2tflite / torch2tflite: a Keras HDF5 (torch state_dict) made from a .tflite with
// tflite2keras (tflite2torch) lands back on that .tflite as the template. Unchanged weights give
// the template's bytes back, float and int8 (re-quantized with the template's own scales); new
// Keras values land in TFLite's layouts, int8 ones within one quantization step.

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");

describe("Keras and PyTorch weights back onto a .tflite template", () => {
  it.each([
    ["hello_world_float", "tflite2keras", "keras2tflite", "h5"],
    ["hello_world_int8", "tflite2keras", "keras2tflite", "h5"],
    ["hello_world_float", "tflite2torch", "torch2tflite", "pt"],
    ["hello_world_int8", "tflite2torch", "torch2tflite", "pt"],
  ])("%s → %s → %s gives the template's bytes back", (name, there, back, ext) => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-back-"));
    const model = join(REAL, `${name}.tflite`);
    const weights = join(dir, `w.${ext}`);
    const out = join(dir, "back.tflite");
    expect(runCli(["convert", model, weights, "--map", there]).code).toBe(0);
    const r = runCli(["convert", weights, out, "--map", back, "--template", model]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    expect(readFileSync(out).equals(readFileSync(model))).toBe(true);
  });

  it("--map keras2tflite without --template is refused in one line (a usage error: exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-back-"));
    const h5 = join(dir, "w.h5");
    expect(runCli(["convert", join(REAL, "hello_world_float.tflite"), h5, "--map", "tflite2keras"]).code).toBe(0);
    const r = runCli(["convert", h5, join(dir, "x.safetensors"), "--map", "keras2tflite"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^weightbridge: error: .*--map keras2tflite .*--template$/);
    const presets = runCli(["presets"]).stdout;
    expect(presets).toContain("e.g. weightbridge convert model.h5 converted.tflite --map keras2tflite --template model.tflite");
    const json = JSON.parse(runCli(["presets", "--json"]).stdout) as Array<{ name: string; inverseOf?: string }>;
    expect(json.filter((p) => p.inverseOf).map((p) => [p.name, p.inverseOf])).toEqual([
      ["keras2tflite", "tflite2keras"],
      ["torch2tflite", "tflite2torch"],
    ]);
  });
});

// New Dense values in Keras' [in, out] kernels: read back transposed into FULLY_CONNECTED's
// [out, in], exact for float, within one step of the template's scale for int8.
const TUNE_AND_READ = `
import sys, json, shutil, numpy as np, h5py
shutil.copyfile(sys.argv[1], sys.argv[2])
rng = np.random.default_rng(3)
want = {}
with h5py.File(sys.argv[2], "r+") as f:
    for layer in f.attrs["layer_names"]:
        for w in f[layer].attrs["weight_names"]:
            d = f[layer][w]
            # Each value scaled by its own factor in [0.6, 1): new values the template's int8 scales can hold.
            if sys.argv[3] == "tune":
                d[...] = (d[...] * rng.uniform(0.6, 1.0, d.shape)).astype(np.float32)
            text = lambda n: n.decode() if isinstance(n, bytes) else n
            want[text(layer) + "/" + text(w).split("/")[-1]] = {"shape": list(d.shape), "values": d[...].astype(np.float32).ravel().tolist()}
print(json.dumps(want))
`;

describe.skipIf(!hasPythonModules("h5py", "numpy"))("new Keras values onto hello_world .tflite templates", () => {
  it.each([["hello_world_float"], ["hello_world_int8"]])("%s", async (name) => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-keras-new-"));
    const model = join(REAL, `${name}.tflite`);
    const h5 = join(dir, "w.h5");
    const tuned = join(dir, "tuned.h5");
    const out = join(dir, "tuned.tflite");
    const report = join(dir, "report.json");
    expect(runCli(["convert", model, h5, "--map", "tflite2keras", "--report", report]).code).toBe(0);
    const sourceOf = new Map(
      (JSON.parse(readFileSync(report, "utf8")) as { tensors: Array<{ source: string; target: string }> }).tensors.map((t) => [t.target, t.source]),
    );
    const want = JSON.parse(runPython(TUNE_AND_READ, [h5, tuned, "tune"])) as Record<string, { shape: number[]; values: number[] }>;
    const r = runCli(["convert", tuned, out, "--map", "keras2tflite", "--template", model]);
    expect(r.code, r.stderr).toBe(0);
    const { readTflite } = await import("../../../src/formats/tflite/read.js");
    const { fileSource } = await import("../../../src/io/source.js");
    const quantization = (await readTflite(await fileSource(model))).meta.quantization as Record<string, { scale: number[] }> | undefined;
    // What tflite2keras makes of the re-weighted file is what was written, up to the template's step.
    const back = join(dir, "back.h5");
    expect(runCli(["convert", out, back, "--map", "tflite2keras"]).code).toBe(0);
    const again = JSON.parse(runPython(TUNE_AND_READ, [back, join(dir, "copy.h5"), "read"])) as typeof want;
    expect(Object.keys(again).sort()).toEqual(Object.keys(want).sort());
    let quantized = 0;
    for (const [key, w] of Object.entries(want)) {
      const got = again[key]!;
      expect(got.shape, key).toEqual(w.shape);
      // Half a step of this tensor's own scale (its largest channel's), plus float32 rounding; exact for float.
      const step = Math.max(...(quantization?.[sourceOf.get(key)!]?.scale ?? [0]));
      if (step > 0) quantized++;
      const off = w.values.filter((v, i) => Math.abs(got.values[i]! - v) > (step === 0 ? 0 : step / 2 + Math.abs(v) * 2 ** -22));
      expect(off, key).toEqual([]);
    }
    expect(quantized).toBe(name.endsWith("int8") ? 6 : 0);
  });
});

// The same Keras weights as a Keras 3 .keras (object paths `layers/dense/vars/0`, a Sequential
// config), assembled here from the HDF5's datasets: re-weighting from it gives the .h5's result.
const H5_TO_KERAS3 = `
import sys, io, json, zipfile, numpy as np, h5py
text = lambda n: n.decode() if isinstance(n, bytes) else n
src = h5py.File(sys.argv[1], "r")
names = [text(n) for n in src.attrs["layer_names"]]
weights = {n: [np.array(src[n][text(w)]) for w in src[n].attrs["weight_names"]] for n in names}
buf = io.BytesIO()
with h5py.File(buf, "w") as f:
    for n in names:
        for i, w in enumerate(weights[n]):
            f.create_dataset(f"layers/{n}/vars/{i}", data=w)
layers = [{"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "input_layer", "batch_shape": [None, 1]}}]
layers += [{"module": "keras.layers", "class_name": "Dense", "config": {"name": n, "units": int(weights[n][1].shape[0])}} for n in names]
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
    z.writestr("config.json", json.dumps({"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}))
    z.writestr("model.weights.h5", buf.getvalue())
`;

describe.skipIf(!hasPythonModules("h5py", "numpy"))("Keras 3 .keras weights onto a .tflite template", () => {
  it.each([["hello_world_float"], ["hello_world_int8"]])("%s: the same bytes as from the .h5, with and without --map keras2tflite", (name) => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-keras3-"));
    const model = join(REAL, `${name}.tflite`);
    const h5 = join(dir, "w.h5");
    const tuned = join(dir, "tuned.h5");
    const keras3 = join(dir, "tuned.keras");
    expect(runCli(["convert", model, h5, "--map", "tflite2keras"]).code).toBe(0);
    runPython(TUNE_AND_READ, [h5, tuned, "tune"]);
    runPython(H5_TO_KERAS3, [tuned, keras3]);
    const fromH5 = join(dir, "h5.tflite");
    expect(runCli(["convert", tuned, fromH5, "--template", model]).code).toBe(0);
    expect(readFileSync(fromH5).equals(readFileSync(model))).toBe(false);
    for (const map of [[], ["--map", "keras2tflite"]]) {
      const out = join(dir, `keras3${map.length}.tflite`);
      const r = runCli(["convert", keras3, out, "--template", model, ...map]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
      expect(readFileSync(out).equals(readFileSync(fromH5))).toBe(true);
    }
  });
});
