import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { tf } from "./fixtures.js";

const READER = readFileSync(join(import.meta.dirname, "bundle_reader.py"), "utf8");
// keras_reference.py runs after the torch modules it compares with (torch_models.py).
const REFERENCE = ["torch_models.py", "keras_reference.py"].map((f) => readFileSync(join(import.meta.dirname, f), "utf8")).join("\n");

// A real Keras SavedModel / checkpoint mapped with keras2torch (Flatten→Dense rows reordered from
// the Flatten evidence in keras_metadata.pb) must load with strict=True into the
// equivalent torch module and compute what numpy implementations of the Keras layers compute on
// the weights TensorFlow stored (read by checkpoint key with the independent bundle reader).
const CASES = [
  { model: "lstm", input: "savedmodel-lstm-dense-adam-k26", bundle: "savedmodel-lstm-dense-adam-k26/variables/variables" },
  {
    model: "bilstm",
    input: "savedmodel-keras3-export-bidirectional-lstm-dense",
    bundle: "savedmodel-keras3-export-bidirectional-lstm-dense/variables/variables",
  },
  {
    model: "embedding-bilstm",
    input: "savedmodel-embedding-bidirectional-lstm-dense-adam-k212",
    bundle: "savedmodel-embedding-bidirectional-lstm-dense-adam-k212/variables/variables",
  },
  { model: "cnn2d", input: "savedmodel-cnn2d-batchnorm-dropout-adam", bundle: "savedmodel-cnn2d-batchnorm-dropout-adam/variables/variables" },
  { model: "conv1d", input: "savedmodel-conv1d-maxpool-dense-adam", bundle: "savedmodel-conv1d-maxpool-dense-adam/variables/variables" },
  { model: "mlp", input: "ckpt-keras-modelcheckpoint-mlp-epoch0-tf23/cp-0000.ckpt.index", bundle: "ckpt-keras-modelcheckpoint-mlp-epoch0-tf23/cp-0000.ckpt" },
];

describe.skipIf(!hasPythonModules("torch", "numpy"))("TensorFlow → torch with keras2torch, computed against numpy Keras layers", () => {
  for (const c of CASES) {
    it(`${c.input} (${c.model})`, () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-tf-interop-"));
      const pth = join(dir, "m.pth");
      const result = runCli(["convert", tf(c.input), pth, "--map", "keras2torch"]);
      expect(result.code, result.stderr).toBe(0);
      const bundle = join(dir, "bundle.json");
      writeFileSync(bundle, runPython(READER, [tf(c.bundle)]));
      const out = JSON.parse(runPython(REFERENCE, [c.model, bundle, pth])) as { max_abs_err: number; max_abs_ref: number };
      expect(out.max_abs_ref).toBeGreaterThan(0.1);
      expect(out.max_abs_err).toBeLessThan(1e-6 * Math.max(1, out.max_abs_ref) * 4);
    }, 120_000);
  }
});

// The way back (deploying weights trained in torch to TF Serving / Keras): a freshly initialised
// torch model, mapped with torch2keras into the real file as --template; the numpy Keras layers on
// what the independent reader finds in the output compute what torch computes.
const TEMPLATES: Array<{ model: string; template: string; out: string; bundle: string; extra?: string[] }> = [
  { model: "lstm", template: "savedmodel-lstm-dense-adam-k26", out: "out/", bundle: "out/variables/variables" },
  { model: "cnn2d", template: "savedmodel-cnn2d-batchnorm-dropout-adam", out: "out/", bundle: "out/variables/variables" },
  // A torch state_dict says nothing about a Flatten: the user gives its C,L (as the error asks).
  {
    model: "conv1d",
    template: "savedmodel-conv1d-maxpool-dense-adam",
    out: "out/",
    bundle: "out/variables/variables",
    extra: ["--layer", "^dense\\.=linear(flatten=32,10)"],
  },
  { model: "mlp", template: "ckpt-keras-modelcheckpoint-mlp-epoch0-tf23/cp-0000.ckpt.index", out: "re.index", bundle: "re" },
];

describe.skipIf(!hasPythonModules("torch", "numpy"))("torch → TensorFlow re-weighting with torch2keras, computed against torch", () => {
  for (const c of TEMPLATES) {
    it(`${c.template} (${c.model})`, () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-tf-reweight-"));
      const pth = join(dir, "trained.pth");
      runPython(REFERENCE, [c.model, "--init", pth]);
      const result = runCli(["convert", pth, join(dir, c.out), "--map", "torch2keras", "--template", tf(c.template), ...(c.extra ?? [])]);
      expect(result.code, result.stderr).toBe(0);
      const bundle = join(dir, "bundle.json");
      writeFileSync(bundle, runPython(READER, [join(dir, c.bundle)]));
      const out = JSON.parse(runPython(REFERENCE, [c.model, bundle, pth])) as { max_abs_err: number; max_abs_ref: number };
      expect(out.max_abs_ref).toBeGreaterThan(1e-3);
      expect(out.max_abs_err).toBeLessThan(1e-5);
    }, 120_000);
  }
});
