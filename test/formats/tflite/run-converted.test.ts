import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { hasPythonTflite, pythonAccessors } from "../../helpers/flatc.js";
import { runCli } from "../../helpers/cli.js";

// A float and an int8 model converted to PyTorch run in torch and match the TFLite ops'
// reference semantics computed in numpy from the .tflite itself (tflite_reference.py).

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");
const HERE = import.meta.dirname;

const TORCH_RUN = `
import sys, json, numpy as np, torch
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_reference as ref
ops = ref.load(sys.argv[3])
state = torch.load(sys.argv[4], weights_only=True)

# The network the mapped names describe: sequential.dense, sequential.dense_1, sequential.dense_2.
root = torch.nn.Module(); root.sequential = torch.nn.Module()
layers = []
for k, op in enumerate(ops):
    out_f, in_f = op["weights"]["data"].shape
    layer = torch.nn.Linear(in_f, out_f).double()
    setattr(root.sequential, "dense" if k == 0 else f"dense_{k}", layer)
    layers.append((layer, op["relu"]))
root.double().load_state_dict({k: v.double() for k, v in state.items()}, strict=True)

x = np.linspace(0, 2 * np.pi, 64).reshape(-1, 1)
result = {}
with torch.no_grad():
    if sys.argv[5] == "float":
        y = torch.from_numpy(x)
        for layer, relu in layers:
            y = layer(y); y = torch.relu(y) if relu else y
        want = ref.run_float(ops, x)
        result["max_rel"] = float(np.max(np.abs(y.numpy() - want) / np.maximum(np.abs(want), 1e-30)))
        result["max_abs"] = float(np.max(np.abs(y.numpy() - want)))
    else:
        # Layer by layer: torch on the int8 reference's dequantized input, then the layer's output
        # quantization; at most one step from the reference's int8 output.
        steps = []
        for (layer, relu), rec in zip(layers, ref.run_int8(ops, x)):
            xin = torch.from_numpy((rec["q_in"] - rec["in"]["zp"]) * rec["in"]["scale"])
            y = layer(xin); y = torch.relu(y) if relu else y
            q = np.clip(np.round(y.numpy() / rec["out"]["scale"]) + rec["out"]["zp"], -128, 127)
            steps.append(float(np.max(np.abs(q - rec["q_out"]))))
        result["steps"] = steps
print(json.dumps(result))
`;

describe.skipIf(!hasPythonTflite() || !hasPythonModules("torch", "numpy"))("tflite → PyTorch (--map tflite2torch) runs like the TFLite model", () => {
  it.each([
    ["hello_world_float", "float"],
    ["hello_world_int8", "int8"],
  ])("%s", (name, kind) => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-torch-"));
    const model = join(REAL, `${name}.tflite`);
    const pt = join(dir, `${name}.pt`);
    const r = runCli(["convert", model, pt, "--map", "tflite2torch"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(runPython(TORCH_RUN, [pythonAccessors(), HERE, model, pt, kind])) as { max_rel?: number; steps?: number[] };
    if (kind === "float") expect(result.max_rel!).toBeLessThan(1e-5);
    else {
      expect(result.steps).toHaveLength(3);
      for (const s of result.steps!) expect(s).toBeLessThanOrEqual(1);
    }
  });
});

// The ONNX output holds the weights (and, for int8, DequantizeLinear's scale and zero-point
// tensors); the graph around them is built here with onnx's helper and run by onnxruntime-node.
const ONNX_GRAPHS = `
import sys, json, numpy as np, onnx
from onnx import helper, TensorProto
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_reference as ref
ops = ref.load(sys.argv[3])
weights = onnx.load(sys.argv[4])
quantized = sys.argv[5] == "int8"
names = {i.name for i in weights.graph.initializer}

def layer_nodes(k, op, x, y):
    w, b = op["weights"]["name"], op["bias"]["name"]
    nodes = []
    if quantized:
        assert w + "_scale" in names and b + "_zero_point" in names
        nodes += [helper.make_node("DequantizeLinear", [w, w + "_scale", w + "_zero_point"], [f"w{k}"]),
                  helper.make_node("DequantizeLinear", [b, b + "_scale", b + "_zero_point"], [f"b{k}"])]
        w, b = f"w{k}", f"b{k}"
    gemm = f"g{k}" if op["relu"] else y
    nodes.append(helper.make_node("Gemm", [x, w, b], [gemm], transB=1))
    if op["relu"]:
        nodes.append(helper.make_node("Relu", [gemm], [y]))
    return nodes

def model(nodes, inputs, outputs, path):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, f]) for n, f in inputs],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, f]) for n, f in outputs], list(weights.graph.initializer))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)

out_dir = sys.argv[6]
x = np.linspace(0, 2 * np.pi, 64).reshape(-1, 1)
cases = []
nodes = []
for k, op in enumerate(ops):
    nodes += layer_nodes(k, op, "x" if k == 0 else f"y{k - 1}", f"y{k}")
model(nodes, [("x", 1)], [(f"y{len(ops) - 1}", 1)], f"{out_dir}/whole.onnx")
if quantized:
    deq = [{**op, "weights": {**op["weights"], "data": (op["weights"]["data"].astype(np.int64) - op["weights"]["zp"]) * op["weights"]["scale"]},
            "bias": {**op["bias"], "data": (op["bias"]["data"].astype(np.int64) - op["bias"]["zp"]) * op["bias"]["scale"]}} for op in ops]
    want = ref.run_float(deq, x)
    for k, (op, rec) in enumerate(zip(ops, ref.run_int8(ops, x))):
        model(layer_nodes(k, op, "x", "y"), [("x", op["weights"]["data"].shape[1])], [("y", op["weights"]["data"].shape[0])], f"{out_dir}/layer{k}.onnx")
        xin = (rec["q_in"] - rec["in"]["zp"]) * rec["in"]["scale"]
        cases.append({"model": f"{out_dir}/layer{k}.onnx", "x": xin.astype(np.float32).ravel().tolist(), "shape": list(xin.shape),
                      "scale": float(rec["out"]["scale"]), "zp": rec["out"]["zp"], "q_out": rec["q_out"].ravel().tolist()})
else:
    want = ref.run_float(ops, x)
print(json.dumps({"x": x.ravel().tolist(), "want": want.ravel().tolist(), "layers": cases}))
`;

async function runOnnx(path: string, x: number[], shape: number[]): Promise<Float32Array> {
  const ort = (await import("onnxruntime-node")).default;
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from(x), shape) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

describe.skipIf(!hasPythonTflite() || !hasPythonModules("onnx", "numpy"))("tflite → ONNX runs in onnxruntime-node like the TFLite model", () => {
  it.each([
    ["hello_world_float", "float"],
    ["hello_world_int8", "int8"],
  ])("%s", async (name, kind) => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-onnx-"));
    const model = join(REAL, `${name}.tflite`);
    const onnx = join(dir, `${name}.onnx`);
    const r = runCli(["convert", model, onnx]);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(runPython(ONNX_GRAPHS, [pythonAccessors(), HERE, model, onnx, kind, dir])) as {
      x: number[]; want: number[]; layers: Array<{ model: string; x: number[]; shape: number[]; scale: number; zp: number; q_out: number[] }>;
    };
    // The whole network: float32 in onnxruntime against float64 numpy, 1e-5 relative.
    const got = await runOnnx(join(dir, "whole.onnx"), plan.x, [plan.x.length, 1]);
    expect(got.length).toBe(plan.want.length);
    const scale = Math.max(...plan.want.map(Math.abs));
    plan.want.forEach((w, i) => expect(Math.abs(got[i]! - w), `output ${i}`).toBeLessThanOrEqual(1e-5 * scale));
    if (kind === "int8") {
      // Layer by layer on the int8 reference's inputs: within one quantization step of its int8 outputs.
      expect(plan.layers).toHaveLength(3);
      for (const layer of plan.layers) {
        const y = await runOnnx(layer.model, layer.x, layer.shape);
        layer.q_out.forEach((q, i) => {
          const mine = Math.min(127, Math.max(-128, Math.round(y[i]! / layer.scale) + layer.zp));
          expect(Math.abs(mine - q)).toBeLessThanOrEqual(1);
        });
      }
    }
  });
});

// Fine-tuned torch weights back into the deployed .tflite: the tflite2torch preset run backwards
// lays them out as the template's tensors; quantized ones are re-quantized with its scales.
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
      for (let i = 0; i < was.length; i++) {
        const want = Math.fround(was[i]! * factor);
        if (step === 0) expect(now[i]).toBe(want);
        // Half the (largest channel's) step, plus float32 rounding of both values.
        else expect(Math.abs(now[i]! - want)).toBeLessThanOrEqual(step / 2 + Math.abs(want) * 2 ** -22);
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  });
});

// tflite2keras: the legacy HDF5 weights, read back with h5py, set on Keras Dense layers in
// TensorFlow.js (Keras semantics: x @ kernel + bias) and run against the numpy reference.
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

describe.skipIf(!hasPythonTflite() || !hasPythonModules("h5py", "numpy"))("tflite → Keras HDF5 (--map tflite2keras) runs in TensorFlow.js like the TFLite model", () => {
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
      layers: Array<{ name: string; weights: number[][]; shapes: number[][] }>; relu: boolean[]; x: number[]; want: number[];
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
