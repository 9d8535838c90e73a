import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { convert } from "../../../src/api/convert.js";
import { onnxRuntime } from "../../../src/verify/whole-model/runtime.js";
import { graphInputs, openGraph, runGraph, seededValues } from "../../../src/verify/whole-model/onnx-run.js";
import { seededRandom } from "../../../src/verify/random.js";
import { closeness } from "../../../src/verify/compare.js";
import { hasPythonModules, PYTHON } from "../../helpers/python.js";

// Real graphs through `convert SRC OUT.py`: torchvision models and a BERT-like encoder and an
// LSTM tagger exported by torch.onnx.export, and the real ONNX files in fixtures/. Each generated
// module runs in real torch on seeded inputs and must agree with onnxruntime-node running the
// source graph within 1e-4 relative; the generated source must pass py_compile and pyflakes.

const HERE = new URL(".", import.meta.url).pathname;
const FIXTURES = join(HERE, "../../../fixtures/onnx");
const available = hasPythonModules("torch", "torchvision", "onnx", "pyflakes");
const RTOL = 1e-4;

const EXPORTED = ["resnet18", "resnet18_preserve", "mobilenet_v2", "mobilenet_v2_preserve", "bert_like", "bert_like_opset17", "lstm_tagger"];
const FILES = ["real/three_layer_pytorch.onnx", "real/three_layer_keras.onnx", "torch_conv_lstm.onnx", "torch_embed_gru.onnx"];

let dir = "";

describe.skipIf(!available)("real graphs → PyTorch modules, run in torch against onnxruntime", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "torch-module-real-"));
    const r = spawnSync(PYTHON, [join(HERE, "export_models.py"), dir], { encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) throw new Error(r.stderr.slice(-3000));
    for (const f of FILES) copyFileSync(join(FIXTURES, f), join(dir, basename(f)));
  }, 600_000);

  for (const name of [...EXPORTED, ...FILES.map((f) => basename(f, ".onnx"))]) {
    it(name, async () => {
      const source = join(dir, `${name}.onnx`);
      const py = join(dir, `${name}.py`);
      const report = await convert(source, py);
      expect(report.to).toBe("pytorch-module");
      expect(existsSync(join(dir, `${name}.pth`))).toBe(true);

      const compiled = spawnSync(PYTHON, ["-m", "py_compile", py], { encoding: "utf8" });
      expect(compiled.stderr).toBe("");
      const flakes = spawnSync(PYTHON, ["-m", "pyflakes", py], { encoding: "utf8" });
      expect(flakes.stdout + flakes.stderr).toBe("");

      const ort = (await onnxRuntime())!;
      expect(ort).toBeDefined();
      const session = await openGraph(ort, source, "source");
      const inputs = graphInputs(session).map((g) => ({ ...g, shape: g.shape.map((d, k) => (g.symbolic?.[k] ? 3 : d)) }));
      const random = seededRandom(7);
      const values = inputs.map((g) => seededValues(g, random));
      const expected = await runGraph(ort, session, inputs, values, "source");
      const inputFiles = values.map((v, i) => {
        const path = join(dir, `${name}.input_${i}.bin`);
        writeFileSync(path, new Uint8Array(Float64Array.from(v).buffer));
        return path;
      });
      const job = { module: py, weights: join(dir, `${name}.pth`), outputs: dir, inputs: inputs.map((g, i) => ({ dtype: g.type, shape: g.shape, path: inputFiles[i] })) };
      const run = spawnSync(PYTHON, [join(HERE, "run_real.py")], { input: JSON.stringify(job), encoding: "utf8", timeout: 300_000 });
      expect(run.stderr).toBe("");
      const shapes = JSON.parse(run.stdout) as number[][];
      const got = shapes.map((shape, i) => {
        const bytes = readFileSync(join(dir, `output_${i}.bin`));
        return { shape, values: new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8) };
      });
      expect(got.length).toBe(expected.length);
      got.forEach((g, i) => {
        expect(g.shape).toEqual(expected[i]!.shape);
        const c = closeness(expected[i]!.values, g.values);
        expect(c.maxRel, `${name} output ${i}: max abs ${c.maxAbs}`).toBeLessThanOrEqual(RTOL);
      });
    }, 300_000);
  }
});
