import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { read } from "../../src/api/open.js";
import { computeReference } from "../../src/verify/check.js";
import { sideOf } from "../../src/verify/pairing.js";

// The ONNX-side reference layers against onnxruntime-node: the onnx package builds one-op
// graphs with random initializers (Gemm with transB/alpha/beta, MatMul+Add, grouped Conv,
// ConvTranspose, BatchNormalization, LayerNormalization, Gather, LSTM/GRU/RNN in both
// directions and both GRU linear_before_reset); our reader gives the roles (op + input slot) and
// attributes; onnxruntime computes the graph on our canonical input laid out as ONNX wants it.
const MAKE = String.raw`
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
rng = np.random.default_rng(0)
def init(name, shape, positive=False):
    a = rng.normal(size=shape).astype(np.float32) * 0.5
    return nh.from_array(np.abs(a) + 0.5 if positive else a, name)
def save(name, nodes, inits, x_shape, y_shape, opset=17):
    g = h.make_graph(nodes, name, [h.make_tensor_value_info("X", TP.INT64 if name == "gather" else TP.FLOAT, x_shape)],
                     [h.make_tensor_value_info("Y", TP.FLOAT, y_shape)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    onnx.save(m, f"{sys.argv[1]}/{name}.onnx")
save("gemm_t", [h.make_node("Gemm", ["X", "W", "C"], ["Y"], name="/fc/Gemm", transB=1, alpha=0.7, beta=1.3)], [init("W", (5, 6)), init("C", (5,))], [2, 6], [2, 5])
save("gemm", [h.make_node("Gemm", ["X", "W", "C"], ["Y"], name="/fc/Gemm")], [init("W", (6, 5)), init("C", (5,))], [2, 6], [2, 5])
save("matmul_add", [h.make_node("MatMul", ["X", "W"], ["T"], name="/fc/MatMul"), h.make_node("Add", ["T", "b"], ["Y"], name="/fc/Add")], [init("W", (6, 5)), init("b", (5,))], [2, 6], [2, 5])
save("conv", [h.make_node("Conv", ["X", "W", "B"], ["Y"], name="/conv/Conv", group=2)], [init("W", (6, 2, 3, 2)), init("B", (6,))], [1, 4, 5, 4], [1, 6, 3, 3])
save("conv_t", [h.make_node("ConvTranspose", ["X", "W", "B"], ["Y"], name="/up/ConvTranspose")], [init("W", (4, 3, 2, 2)), init("B", (3,))], [1, 4, 4, 4], [1, 3, 5, 5])
save("bn", [h.make_node("BatchNormalization", ["X", "s", "b", "m", "v"], ["Y"], name="/bn/BatchNormalization", epsilon=1e-3)],
     [init("s", (5,)), init("b", (5,)), init("m", (5,)), init("v", (5,), True)], [3, 5], [3, 5])
save("ln", [h.make_node("LayerNormalization", ["X", "s", "b"], ["Y"], name="/ln/LayerNormalization", epsilon=1e-4)], [init("s", (6,)), init("b", (6,))], [3, 6], [3, 6])
save("gather", [h.make_node("Gather", ["E", "X"], ["Y"], name="/emb/Gather")], [init("E", (7, 3))], ["n"], ["n", 3])
for op, G, extra in (("LSTM", 4, {}), ("GRU", 3, {"linear_before_reset": 1}), ("GRU", 3, {"linear_before_reset": 0}), ("RNN", 1, {})):
    for direction, D in (("forward", 1), ("bidirectional", 2)):
        name = f"{op.lower()}{extra.get('linear_before_reset', '')}_{direction}"
        save(name, [h.make_node(op, ["X", "W", "R", "B"], ["Y"], name=f"/{op.lower()}/{op}", hidden_size=3, direction=direction, **extra)],
             [init("W", (D, G * 3, 4)), init("R", (D, G * 3, 3)), init("B", (D, 2 * G * 3))], [3, 2, 4], [3, D, 2, 3])
`;

const KINDS: Record<string, string> = {
  gemm_t: "linear",
  gemm: "linear",
  matmul_add: "linear",
  conv: "conv2d",
  conv_t: "conv_transpose2d",
  bn: "batchnorm",
  ln: "layernorm",
  gather: "embedding",
};
const RECURRENT = ["lstm", "gru1", "gru0", "rnn"].flatMap((k) => [`${k}_forward`, `${k}_bidirectional`]);

describe.skipIf(!hasPythonModules("onnx", "numpy"))("ONNX reference layers against onnxruntime-node", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-verify-onnx-"));
  if (hasPythonModules("onnx", "numpy")) runPython(MAKE, [dir]);
  for (const name of [...Object.keys(KINDS), ...RECURRENT]) {
    it(name, async () => {
      const kind = KINDS[name] ?? name.replace(/\d?_.*$/, "");
      const file = join(dir, `${name}.onnx`);
      const checkpoint = await read(file);
      const side = sideOf(checkpoint.tensors, "onnx");
      const { output, input } = await computeReference(kind, side).finally(() => checkpoint.close());
      const session = await ort.InferenceSession.create(file);
      const feeds: Record<string, ort.Tensor> = {};
      let expected: Float32Array;
      if (kind === "embedding") {
        // Our plan's ids, looked up by Gather.
        const ids = [0, 6];
        feeds.X = new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [ids.length]);
        const y = (await session.run(feeds)).Y!.data as Float32Array;
        expect(Array.from(output.subarray(0, 3))).toEqual(Array.from(y.subarray(0, 3)));
        expect(Array.from(output.subarray(3, 6))).toEqual(Array.from(y.subarray(3, 6)));
        return;
      }
      if (RECURRENT.includes(name)) {
        // canonical [N, T, I] → ONNX X [T, N, I]; Y [T, D, N, H] → canonical [N, T, D·H]
        const [N, T, I, H] = [2, 3, 4, 3];
        const D = name.endsWith("bidirectional") ? 2 : 1;
        const x = new Float32Array(T * N * I);
        for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) for (let i = 0; i < I; i++) x[(t * N + n) * I + i] = input[(n * T + t) * I + i]!;
        feeds.X = new ort.Tensor("float32", x, [T, N, I]);
        const y = (await session.run(feeds)).Y!.data as Float32Array;
        expected = new Float32Array(N * T * D * H);
        for (let t = 0; t < T; t++)
          for (let d = 0; d < D; d++)
            for (let n = 0; n < N; n++) for (let u = 0; u < H; u++) expected[(n * T + t) * D * H + d * H + u] = y[((t * D + d) * N + n) * H + u]!;
      } else {
        const dims: Record<string, number[]> = {
          gemm_t: [2, 6],
          gemm: [2, 6],
          matmul_add: [2, 6],
          conv: [1, 4, 5, 4],
          conv_t: [1, 4, 4, 4],
          bn: [3, 5],
          ln: [3, 6],
        };
        feeds.X = new ort.Tensor("float32", Float32Array.from(input), dims[name]!);
        expected = (await session.run(feeds)).Y!.data as Float32Array;
      }
      expect(output.length).toBe(expected.length);
      expect(Math.max(...Array.from(expected, Math.abs))).toBeGreaterThan(0.05);
      const err = Math.max(...Array.from(expected, (v, i) => Math.abs(v - output[i]!)));
      expect(err).toBeLessThan(1e-5);
    });
  }
});
