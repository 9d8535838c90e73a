import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { read } from "../../src/api/open.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";
import { runCli } from "../helpers/cli.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { seeded } from "./keras-onnx-harness.js";

// Real `.keras` zips written by Keras itself whose weights file names no layer (Keras 3.4.1 and
// tf.keras 2.15 write no `name` attrs beside the variables, only object paths `layers/dense_1`):
// `convert X.keras X.onnx` must still match each config layer to its variables, and the ONNX graph
// computes in onnxruntime what TensorFlow.js computes from the same config and weights; keras2torch
// names the torch tensors after the layers (`dense_1.weight`), and real torch computes the same.

const REAL = "fixtures/keras/real";
const DIR = mkdtempSync(join(tmpdir(), "wb-keras-zip-"));

const CASES = [
  { file: "chatbot_sgd_keras341.keras", inputs: 61, outputs: 7 },
  { file: "chatbot_sgd_tfkeras215.keras", inputs: 134, outputs: 30 },
];
const LAYERS = ["dense", "dense_1", "dense_2"];

/** Keras 3's config dialect in the one tfjs reads: dtype policies as names, `batch_shape` as `batch_input_shape`, no module keys. */
function forTfjs(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(forTfjs);
  if (v === null || typeof v !== "object") return v;
  if (v.class_name === "DTypePolicy") return (v.config as { name: string }).name;
  const out: Record<string, JsonValue> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!["module", "registered_name", "build_config", "compile_config"].includes(k)) out[k === "batch_shape" ? "batch_input_shape" : k] = forTfjs(x);
  }
  return out;
}

/** The file's Dense variables straight from its object paths (Keras' Dense keeps kernel at index 0, bias at 1), into a tfjs model. */
async function tfjsModel(file: string): Promise<tf.LayersModel> {
  const source = await read(file);
  try {
    await tf.setBackend("cpu");
    const model = await tf.models.modelFromJSON({ modelTopology: forTfjs(source.meta.config as JsonValue) as never });
    const values = [];
    for (const w of model.weights) {
      const [layer, role] = w.originalName.split("/");
      const t = source.tensors.find((x) => x.name === `layers/${layer}/vars/${role === "kernel" ? 0 : 1}`)!;
      const bytes = await t.data.read();
      values.push(tf.tensor(new Float32Array(bytes.slice().buffer), t.shape));
    }
    model.setWeights(values);
    return model;
  } finally {
    await source.close();
  }
}

function maxRelative(want: Float32Array, have: Float32Array): number {
  const rms = Math.sqrt(want.reduce((s, v) => s + v * v, 0) / want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - have[i]!) / Math.max(Math.abs(want[i]!), rms));
  return worst;
}

const TORCH_RUN = String.raw`
import sys, json, torch
from torch import nn
pth, inputs_json = sys.argv[1:3]
state = torch.load(pth, weights_only=True)
class Chatbot(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.dense, self.dense_1, self.dense_2 = (nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
    def forward(self, x):
        return torch.softmax(self.dense_2(torch.relu(self.dense_1(torch.relu(self.dense(x))))), dim=-1)
sizes = [state["dense.weight"].shape[1], state["dense.weight"].shape[0], state["dense_1.weight"].shape[0], state["dense_2.weight"].shape[0]]
model = Chatbot(sizes)
model.load_state_dict(state, strict=True)
x = torch.tensor(json.load(open(inputs_json)), dtype=torch.float32)
print(json.dumps({"keys": list(state.keys()), "out": model(x).detach().reshape(-1).tolist()}))
`;

describe("real .keras files without layer names → runnable ONNX (vs TensorFlow.js) and keras2torch names (vs real torch)", () => {
  for (const c of CASES) {
    const file = join(REAL, c.file);

    it(`${c.file}: the ONNX graph agrees with TensorFlow.js within 1e-4`, async () => {
      const out = join(DIR, `${c.file}.onnx`);
      const result = runCli(["convert", file, out]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("whole model agrees");
      const model = await tfjsModel(file);
      const random = seeded(7);
      const data = Float32Array.from({ length: 4 * c.inputs }, () => random(0, 1));
      const want = (model.predict(tf.tensor(data, [4, c.inputs])) as tf.Tensor).dataSync() as Float32Array;
      const session = await ort.InferenceSession.create(out);
      const got = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", data, [4, c.inputs]) });
      const have = got[session.outputNames[0]!]!;
      expect(have.dims).toEqual([4, c.outputs]);
      expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(1e-3);
      expect(maxRelative(want, have.data as Float32Array)).toBeLessThan(1e-4);
    }, 240_000);

    it.skipIf(!hasPythonModules("onnx"))(
      `${c.file}: onnx.checker (full_check) accepts the graph`,
      () => {
        const out = join(DIR, `${c.file}.checked.onnx`);
        expect(runCli(["convert", file, out]).code).toBe(0);
        const checked = runPython("import onnx, sys\nonnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\nprint('ok')", [out]);
        expect(checked.trim()).toBe("ok");
      },
      240_000,
    );

    it.skipIf(!hasPythonModules("torch"))(
      `${c.file}: keras2torch names the layers, not their object paths, and torch computes what tfjs does`,
      async () => {
        const pth = join(DIR, `${c.file}.pth`);
        const result = runCli(["convert", file, pth, "--map", "keras2torch"]);
        expect(result.code, result.stderr).toBe(0);
        const random = seeded(11);
        const rows = Array.from({ length: 3 }, () => Array.from({ length: c.inputs }, () => random(0, 1)));
        const inputs = join(DIR, `${c.file}.inputs.json`);
        writeFileSync(inputs, JSON.stringify(rows));
        const torchOut = JSON.parse(runPython(TORCH_RUN, [pth, inputs])) as { keys: string[]; out: number[] };
        expect(torchOut.keys).toEqual(LAYERS.flatMap((l) => [`${l}.weight`, `${l}.bias`]));
        const model = await tfjsModel(file);
        const want = (model.predict(tf.tensor(rows.flat(), [3, c.inputs])) as tf.Tensor).dataSync() as Float32Array;
        expect(maxRelative(want, Float32Array.from(torchOut.out))).toBeLessThan(1e-4);
      },
      240_000,
    );
  }
});
