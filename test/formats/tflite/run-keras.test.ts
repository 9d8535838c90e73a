import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { hasPythonTflite, pythonAccessors } from "../../helpers/flatc.js";
import { runCli } from "../../helpers/cli.js";
import { kerasAgainstTflite } from "./lstm-runs.js";

// tflite2keras: the legacy HDF5 weights, read back with h5py, set on Keras Dense layers in
// TensorFlow.js (Keras semantics: x @ kernel + bias) and run against the numpy reference.

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");
const HERE = import.meta.dirname;

const KERAS_PLAN = `
import sys, json, numpy as np, h5py
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_reference as ref
ops = ref.load(sys.argv[3])
layers = []
with h5py.File(sys.argv[4], "r") as f:
    group = f["model_weights"] if "model_weights" in f else f
    for name in [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]:
        weights = [n.decode() if isinstance(n, bytes) else n for n in group[name].attrs["weight_names"]]
        arrays = [np.array(group[name][w]) for w in weights]
        layers.append({"name": name, "weights": [a.ravel().tolist() for a in arrays], "shapes": [list(a.shape) for a in arrays]})
if sys.argv[5] == "int8":
    ops = [{**op, "weights": {**op["weights"], "data": (op["weights"]["data"].astype(np.int64) - op["weights"]["zp"]) * op["weights"]["scale"]},
            "bias": {**op["bias"], "data": (op["bias"]["data"].astype(np.int64) - op["bias"]["zp"]) * op["bias"]["scale"]}} for op in ops]
x = np.linspace(0, 2 * np.pi, 64).reshape(-1, 1)
print(json.dumps({"layers": layers, "relu": [op["relu"] for op in ops], "x": x.ravel().tolist(), "want": ref.run_float(ops, x).ravel().tolist()}))
`;

const KERAS_READY = hasPythonTflite() && hasPythonModules("h5py", "numpy");

describe.skipIf(!KERAS_READY)("tflite → Keras HDF5 (--map tflite2keras) runs in TensorFlow.js like the TFLite model", () => {
  it.each([
    ["hello_world_float", "float"],
    ["hello_world_int8", "int8"],
  ])("%s", async (name, kind) => {
    const tf = await import("@tensorflow/tfjs");
    await tf.setBackend("cpu");
    const dir = mkdtempSync(join(tmpdir(), "tflite-keras-"));
    const model = join(REAL, `${name}.tflite`);
    const h5 = join(dir, `${name}.h5`);
    const r = runCli(["convert", model, h5, "--map", "tflite2keras"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(runPython(KERAS_PLAN, [pythonAccessors(), HERE, model, h5, kind])) as {
      layers: Array<{ name: string; weights: number[][]; shapes: number[][] }>;
      relu: boolean[];
      x: number[];
      want: number[];
    };
    expect(plan.layers.map((l) => l.name)).toEqual(["dense", "dense_1", "dense_2"]);
    const net = tf.sequential();
    plan.layers.forEach((l, k) => {
      const [kernel, bias] = l.shapes;
      expect(bias).toHaveLength(1);
      net.add(tf.layers.dense({ units: kernel![1]!, inputShape: [kernel![0]!], activation: plan.relu[k] ? "relu" : "linear", name: l.name }));
      net.layers[k]!.setWeights(l.weights.map((w, i) => tf.tensor(w, l.shapes[i]!)));
    });
    const got = (net.predict(tf.tensor2d(plan.x, [plan.x.length, 1])) as import("@tensorflow/tfjs").Tensor).dataSync();
    const scale = Math.max(...plan.want.map(Math.abs));
    plan.want.forEach((w, i) => expect(Math.abs(got[i]! - w), `output ${i}`).toBeLessThanOrEqual(1e-5 * scale));
  });
});

// The LSTM: the mnist_lstm model's Keras HDF5 (tflite2keras, the cell clip accepted as never
// reached) in a TensorFlow.js LSTM(20) → Flatten → Dense(10, softmax), against TFLite's LSTM step
// in numpy on a digit-like stroke (lstm-runs.ts).

describe.skipIf(!hasPythonTflite() || !hasPythonModules("h5py", "numpy"))("tflite LSTM → Keras LSTM in TensorFlow.js", () => {
  it("trained_lstm: kernel, recurrent_kernel and bias in Keras' i, f, c, o order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-keras-lstm-"));
    const model = join(REAL, "trained_lstm.tflite");
    const h5 = join(dir, "lstm.h5");
    const r = runCli(["convert", model, h5, "--map", "tflite2keras", "--layer", "^arith\\.constant=lstm(cell_clip=0)"]);
    expect(r.code, r.stderr).toBe(0);
    const result = await kerasAgainstTflite(model, h5);
    expect(result.lstmWeights).toEqual(["kernel:0", "recurrent_kernel:0", "bias:0"]);
    expect(result.peak).toBeLessThan(result.clip);
    expect(result.maxRel).toBeLessThan(1e-5);
  });
});
