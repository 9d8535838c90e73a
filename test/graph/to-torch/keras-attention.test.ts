import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convert } from "../../../src/api/convert.js";
import { writeBytes } from "../../../src/api/write.js";
import type { JsonValue } from "../../../src/tensor/checkpoint.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import { hasPythonModules } from "../../helpers/python.js";
import { seeded } from "../keras-onnx-harness.js";
import { pythonLint, torchAgainstOnnx } from "./torch-vs-ort.js";

// Keras MultiHeadAttention → PyTorch: the Keras lowering (checked against Keras' definition in
// keras-onnx-torch.test.ts) comes back as nn.MultiheadAttention when that layer computes it
// (H*key_dim = features, value_dim = key_dim, biases), and node by node otherwise; either way the module
// runs in torch against the ONNX graph of the same .h5 in onnxruntime-node within 1e-4.

interface AttentionCase {
  heads: number;
  keyDim: number;
  valueDim?: number;
  useBias?: boolean;
  /** Whether the module must declare nn.MultiheadAttention. */
  layer: boolean;
}

const CASES: Record<string, AttentionCase> = {
  self_attention: { heads: 2, keyDim: 4, layer: true },
  self_attention_four_heads: { heads: 4, keyDim: 2, layer: true },
  // torch 1.13's nn.MultiheadAttention(bias=False) fails in eval (its fast path needs the bias).
  no_bias: { heads: 2, keyDim: 4, useBias: false, layer: false },
  value_dim_differs: { heads: 2, keyDim: 4, valueDim: 3, layer: false },
};
const FEATURES = 8;

async function kerasFile(dir: string, name: string, c: AttentionCase): Promise<string> {
  const valueDim = c.valueDim ?? c.keyDim;
  const config = {
    class_name: "Functional",
    config: {
      name,
      layers: [
        { class_name: "InputLayer", name: "x", config: { name: "x", batch_input_shape: [null, 5, FEATURES] }, inbound_nodes: [] },
        {
          class_name: "MultiHeadAttention",
          name: "mha",
          config: { name: "mha", num_heads: c.heads, key_dim: c.keyDim, value_dim: valueDim, use_bias: c.useBias ?? true },
          inbound_nodes: [[["x", 0, 0, { value: ["x", 0, 0] }]]],
        },
      ],
      input_layers: [["x", 0, 0]],
      output_layers: [["mha", 0, 0]],
    },
  };
  const shapes: Record<string, number[]> = {
    "mha/query/kernel:0": [FEATURES, c.heads, c.keyDim],
    "mha/key/kernel:0": [FEATURES, c.heads, c.keyDim],
    "mha/value/kernel:0": [FEATURES, c.heads, valueDim],
    "mha/attention_output/kernel:0": [c.heads, valueDim, FEATURES],
  };
  if (c.useBias !== false) {
    Object.assign(shapes, {
      "mha/query/bias:0": [c.heads, c.keyDim],
      "mha/key/bias:0": [c.heads, c.keyDim],
      "mha/value/bias:0": [c.heads, valueDim],
      "mha/attention_output/bias:0": [FEATURES],
    });
  }
  const random = seeded(11);
  const tensors = Object.entries(shapes).map(([weight, shape]) => {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random(-0.5, 0.5));
    return makeTensor(weight, "float32", shape, bytesData(new Uint8Array(values.buffer)));
  });
  const h5 = join(dir, `${name}.h5`);
  writeFileSync(h5, await writeBytes({ tensors, meta: { model_config: config as JsonValue, keras_version: "2.15.0", backend: "tensorflow" } }, "keras-h5"));
  return h5;
}

describe.skipIf(!hasPythonModules("torch", "pyflakes"))("Keras MultiHeadAttention → nn.MultiheadAttention", () => {
  const dir = mkdtempSync(join(tmpdir(), "keras-attention-"));
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const h5 = await kerasFile(dir, name, c);
      const [onnx, py] = [join(dir, `${name}.onnx`), join(dir, `${name}.py`)];
      await convert(h5, onnx);
      await convert(h5, py);
      const source = readFileSync(py, "utf8");
      expect(source.includes("= nn.MultiheadAttention(")).toBe(c.layer);
      if (c.layer) expect(source).toContain(`nn.MultiheadAttention(${FEATURES}, ${c.heads}, batch_first=True)`);
      expect(pythonLint(py)).toBe("");
      const outputs = await torchAgainstOnnx(onnx, py, join(dir, `${name}.pth`), dir, name);
      expect(outputs.length).toBe(1);
      expect(outputs[0]!.shapes[1]).toEqual(outputs[0]!.shapes[0]);
      expect(outputs[0]!.maxRel, `max abs ${outputs[0]!.maxAbs}`).toBeLessThanOrEqual(1e-4);
    }, 120_000);
  }
});
