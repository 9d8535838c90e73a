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

const dense = (layer: string, path: string) => ({ [`${layer}/kernel`]: `${path}/vars/0`, [`${layer}/bias`]: `${path}/vars/1` });
const lstm = (layer: string, path: string) => ({
  [`${layer}/kernel`]: `${path}/cell/vars/0`,
  [`${layer}/recurrent_kernel`]: `${path}/cell/vars/1`,
  [`${layer}/bias`]: `${path}/cell/vars/2`,
});

// Each tfjs weight's variable in the file, by Keras' own rules (object path per class in list order;
// Dense keeps kernel, bias; LSTM's cell kernel, recurrent_kernel, bias), written out by hand.
const CASES = [
  {
    file: "chatbot_sgd_keras341.keras",
    input: [61],
    torch: { kind: "mlp", layers: ["dense", "dense_1", "dense_2"] },
    weights: { ...dense("dense", "layers/dense"), ...dense("dense_1", "layers/dense_1"), ...dense("dense_2", "layers/dense_2") },
  },
  {
    file: "chatbot_sgd_tfkeras215.keras",
    input: [134],
    torch: { kind: "mlp", layers: ["dense", "dense_1", "dense_2"] },
    weights: { ...dense("dense", "layers/dense"), ...dense("dense_1", "layers/dense_1"), ...dense("dense_2", "layers/dense_2") },
  },
  {
    file: "jena_lstm_rmsprop_keras391.keras",
    input: [120, 14],
    torch: { kind: "lstm", layers: ["lstm", "dense_1"] },
    weights: { ...lstm("lstm", "layers/lstm"), ...dense("dense_1", "layers/dense") },
  },
  {
    // Layers called lstm_1 and dense_4, saved under layers/lstm and layers/dense.
    file: "jena_lstm_rmsprop_tfkeras215.keras",
    input: [120, 14],
    torch: { kind: "lstm", layers: ["lstm_1", "dense_4"] },
    weights: { ...lstm("lstm_1", "layers/lstm"), ...dense("dense_4", "layers/dense") },
  },
];

/** A Keras 3 inbound node (`{args, kwargs}` of `__keras_tensor__`s) as Keras 2 spelled it: `[[layer, node, tensor, {}], ...]`. */
function legacyNode(node: JsonValue): JsonValue {
  if (Array.isArray(node)) return node;
  const refs: JsonValue[] = [];
  const collect = (v: JsonValue): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === "object" && v.class_name === "__keras_tensor__")
      refs.push([...((v.config as { keras_history: JsonValue[] }).keras_history ?? []), {}]);
  };
  collect((node as { args?: JsonValue }).args ?? []);
  return refs;
}

/** Keras 3's config dialect in the one tfjs reads: dtype policies as names, `batch_shape` as `batch_input_shape`, Keras 2 inbound nodes, no module keys. */
function forTfjs(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(forTfjs);
  if (v === null || typeof v !== "object") return v;
  if (v.class_name === "DTypePolicy") return (v.config as { name: string }).name;
  const out: Record<string, JsonValue> = {};
  for (const [k, x] of Object.entries(v)) {
    if (["module", "registered_name", "build_config", "compile_config"].includes(k)) continue;
    if (k === "inbound_nodes" && Array.isArray(x)) out[k] = x.map(legacyNode);
    // Keras 3 writes a lone model input or output as [name, node, tensor], Keras 2 as a list of them.
    else if ((k === "input_layers" || k === "output_layers") && Array.isArray(x) && typeof x[0] === "string") out[k] = [x];
    else out[k === "batch_shape" ? "batch_input_shape" : k] = forTfjs(x);
  }
  return out;
}

/** The file's variables, found by the case's table, into a tfjs model built from the file's config. */
async function tfjsModel(file: string, weights: Record<string, string>): Promise<tf.LayersModel> {
  const source = await read(file);
  try {
    await tf.setBackend("cpu");
    const model = await tf.models.modelFromJSON({ modelTopology: forTfjs(source.meta.config as JsonValue) as never });
    const values = [];
    for (const w of model.weights) {
      const t = source.tensors.find((x) => x.name === weights[w.originalName]);
      if (!t) throw new Error(`${file}: the case names no variable for tfjs weight ${w.originalName}`);
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
pth, inputs_json, kind = sys.argv[1:4]
names = sys.argv[4:]
state = torch.load(pth, weights_only=True)
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        if kind == "mlp":
            for n in names:
                setattr(self, n, nn.Linear(state[n + ".weight"].shape[1], state[n + ".weight"].shape[0]))
        else:
            rnn, head = names
            setattr(self, rnn, nn.LSTM(state[rnn + ".weight_ih_l0"].shape[1], state[rnn + ".weight_hh_l0"].shape[1], batch_first=True))
            setattr(self, head, nn.Linear(state[head + ".weight"].shape[1], state[head + ".weight"].shape[0]))
    def forward(self, x):
        if kind == "mlp":
            a, b, c = (getattr(self, n) for n in names)
            return torch.softmax(c(torch.relu(b(torch.relu(a(x))))), dim=-1)
        rnn, head = (getattr(self, n) for n in names)
        return head(rnn(x)[0][:, -1])
model = Model()
model.load_state_dict(state, strict=True)
x = torch.tensor(json.load(open(inputs_json)), dtype=torch.float32)
print(json.dumps({"keys": list(state.keys()), "out": model(x).detach().reshape(-1).tolist()}))
`;

/** Seeded inputs of the case's shape, batch first, nested as JSON rows. */
function inputsOf(seed: number, batch: number, shape: number[]): { flat: Float32Array; dims: number[] } {
  const random = seeded(seed);
  const dims = [batch, ...shape];
  return { flat: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random(0, 1)), dims };
}

function torchKeys(torch: { kind: string; layers: string[] }): string[] {
  if (torch.kind === "mlp") return torch.layers.flatMap((l) => [`${l}.weight`, `${l}.bias`]);
  const [rnn, head] = torch.layers;
  return [`${rnn}.weight_ih_l0`, `${rnn}.weight_hh_l0`, `${rnn}.bias_ih_l0`, `${rnn}.bias_hh_l0`, `${head}.weight`, `${head}.bias`];
}

describe("real .keras files (layers known only by object path, LSTM cells) → runnable ONNX vs TensorFlow.js, keras2torch vs real torch", () => {
  for (const c of CASES) {
    const file = join(REAL, c.file);

    it(`${c.file}: the ONNX graph agrees with TensorFlow.js within 1e-4`, async () => {
      const out = join(DIR, `${c.file}.onnx`);
      const result = runCli(["convert", file, out]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("whole model agrees");
      const model = await tfjsModel(file, c.weights);
      const { flat, dims } = inputsOf(7, 4, c.input);
      const want = (model.predict(tf.tensor(flat, dims)) as tf.Tensor).dataSync() as Float32Array;
      const session = await ort.InferenceSession.create(out);
      const got = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", flat, dims) });
      const have = got[session.outputNames[0]!]!;
      expect(have.data.length).toBe(want.length);
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
      `${c.file}: keras2torch names the layers as the config does, and torch computes what tfjs does`,
      async () => {
        const pth = join(DIR, `${c.file}.pth`);
        const result = runCli(["convert", file, pth, "--map", "keras2torch"]);
        expect(result.code, result.stderr).toBe(0);
        const { flat, dims } = inputsOf(11, 3, c.input);
        const inputs = join(DIR, `${c.file}.inputs.json`);
        writeFileSync(inputs, JSON.stringify(tf.tensor(flat, dims).arraySync()));
        const torchOut = JSON.parse(runPython(TORCH_RUN, [pth, inputs, c.torch.kind, ...c.torch.layers])) as { keys: string[]; out: number[] };
        expect([...torchOut.keys].sort()).toEqual(torchKeys(c.torch).sort());
        const model = await tfjsModel(file, c.weights);
        const want = (model.predict(tf.tensor(flat, dims)) as tf.Tensor).dataSync() as Float32Array;
        expect(maxRelative(want, Float32Array.from(torchOut.out))).toBeLessThan(1e-4);
      },
      240_000,
    );
  }
});
