import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { convert } from "../../../src/api/convert.js";
import { hasPythonModules, PYTHON } from "../../helpers/python.js";
import { pythonLint, torchAgainstOnnx } from "./torch-vs-ort.js";

// Real graphs through `convert SRC OUT.py`: torchvision models and a BERT-like encoder and an
// LSTM tagger exported by torch.onnx.export, and the real ONNX files in fixtures/. Each generated
// module runs in real torch on seeded inputs and must agree with onnxruntime-node running the
// source graph within 1e-4 relative; the generated source must pass py_compile and pyflakes.
// nn.MultiheadAttention exports must come back as that layer, and a near miss (another scale) must not.

const HERE = new URL(".", import.meta.url).pathname;
const FIXTURES = join(HERE, "../../../fixtures/onnx");
const available = hasPythonModules("torch", "torchvision", "onnx", "pyflakes");
const RTOL = 1e-4;

const EXPORTED = ["resnet18", "resnet18_preserve", "mobilenet_v2", "mobilenet_v2_preserve", "bert_like", "bert_like_opset17", "lstm_tagger"];
/** Exports of nn.MultiheadAttention, and how many of them the module must declare as that layer (the near miss: none). */
const ATTENTION: Record<string, number> = { mha_batch_first: 1, mha_sequence_first: 1, mha_key_padding: 1, transformer_layer: 1, mha_near_miss: 0 };
const FILES = ["real/three_layer_pytorch.onnx", "real/three_layer_keras.onnx", "torch_conv_lstm.onnx", "torch_embed_gru.onnx"];

let dir = "";

describe.skipIf(!available)("real graphs → PyTorch modules, run in torch against onnxruntime", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "torch-module-real-"));
    const r = spawnSync(PYTHON, [join(HERE, "export_models.py"), dir], { encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) throw new Error(r.stderr.slice(-3000));
    for (const f of FILES) copyFileSync(join(FIXTURES, f), join(dir, basename(f)));
  }, 600_000);

  for (const name of [...EXPORTED, ...Object.keys(ATTENTION), ...FILES.map((f) => basename(f, ".onnx"))]) {
    it(name, async () => {
      const source = join(dir, `${name}.onnx`);
      const py = join(dir, `${name}.py`);
      const report = await convert(source, py);
      expect(report.to).toBe("pytorch-module");
      expect(existsSync(join(dir, `${name}.pth`))).toBe(true);

      expect(pythonLint(py)).toBe("");
      if (name in ATTENTION) expect(readFileSync(py, "utf8").match(/= nn\.MultiheadAttention\(16, 4/g)?.length ?? 0).toBe(ATTENTION[name]);
      const outputs = await torchAgainstOnnx(source, py, join(dir, `${name}.pth`), dir, name);
      outputs.forEach((o, i) => {
        expect(o.shapes[1], `${name} output ${i} shape`).toEqual(o.shapes[0]);
        expect(o.maxRel, `${name} output ${i}: max abs ${o.maxAbs}`).toBeLessThanOrEqual(RTOL);
      });
    }, 300_000);
  }
});
