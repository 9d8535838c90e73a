import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convert } from "../../../src/api/convert.js";
import { hasPythonModules } from "../../helpers/python.js";
import { pythonLint, torchAgainstOnnx } from "./torch-vs-ort.js";

// Keras models → PyTorch source: the real Keras files keras-onnx-real.test.ts converts to ONNX
// graphs (which agree there with TensorFlow.js running the same file) are converted to .py from
// the same lowered graph; the module runs in torch and must agree with that ONNX graph in
// onnxruntime within 1e-4 (so, transitively, with TensorFlow.js within about 2e-4).

const ROOT = join(import.meta.dirname, "../../..");
const TF = join(ROOT, "fixtures/tensorflow");
const REAL = join(ROOT, "fixtures/keras/real");

const CASES: Array<{ name: string; path: string; kerasConfig?: string }> = [
  { name: "hls4ml_3layer", path: join(REAL, "KERAS_3layer_weights.h5"), kerasConfig: join(REAL, "KERAS_3layer.json") },
  { name: "hls4ml_conv2d", path: join(REAL, "KERAS_conv2d_model_weights.h5"), kerasConfig: join(REAL, "KERAS_conv2d_model.json") },
  { name: "savedmodel_cnn2d_bn", path: join(TF, "savedmodel-cnn2d-batchnorm-dropout-adam") },
  { name: "savedmodel_conv1d", path: join(TF, "savedmodel-conv1d-maxpool-dense-adam") },
  { name: "savedmodel_lstm", path: join(TF, "savedmodel-lstm-dense-adam-k26") },
  { name: "savedmodel_mlp_bn_tf22", path: join(TF, "savedmodel-mlp-bn-dropout-adam-sharded-tf22") },
  { name: "savedmodel_2input_shared_nested", path: join(TF, "savedmodel-2input-shared-submodel-concat-adam") },
];

describe.skipIf(!hasPythonModules("torch", "pyflakes"))("Keras models → PyTorch modules, run in torch against their ONNX graphs", () => {
  const dir = mkdtempSync(join(tmpdir(), "keras-torch-"));
  for (const c of CASES) {
    it(c.name, async () => {
      const [onnx, py] = [join(dir, `${c.name}.onnx`), join(dir, `${c.name}.py`)];
      await convert(c.path, onnx, { kerasConfig: c.kerasConfig });
      const report = await convert(c.path, py, { kerasConfig: c.kerasConfig });
      expect(report.to).toBe("pytorch-module");
      expect((report as { graphCheck?: { verdict: string } }).graphCheck?.verdict).not.toBe("disagrees");
      expect(pythonLint(py)).toBe("");
      const outputs = await torchAgainstOnnx(onnx, py, join(dir, `${c.name}.pth`), dir, c.name);
      outputs.forEach((o, i) => {
        expect(o.shapes[1]).toEqual(o.shapes[0]);
        expect(o.maxRel, `${c.name} output ${i}: max abs ${o.maxAbs}`).toBeLessThanOrEqual(1e-4);
      });
    }, 300_000);
  }
});
