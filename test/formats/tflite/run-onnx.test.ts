import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { hasPythonTflite, pythonAccessors } from "../../helpers/flatc.js";
import { runCli } from "../../helpers/cli.js";

// The ONNX output holds the weights (and, for int8, DequantizeLinear's scale and zero-point
// tensors); the graph around them is built here with onnx's helper and run by onnxruntime-node.

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");
const HERE = import.meta.dirname;

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
      x: number[];
      want: number[];
      layers: Array<{ model: string; x: number[]; shape: number[]; scale: number; zp: number; q_out: number[] }>;
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
