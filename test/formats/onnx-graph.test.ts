import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileSource } from "../../src/io/source.js";
import { readOnnxGraph } from "../../src/formats/onnx/graph.js";
import { encodeGraphModel } from "../../src/formats/onnx/graph-encode.js";
import { memorySource } from "../../src/io/source.js";

// ONNX ModelProto → graph IR on a file torch.onnx.export wrote (fixtures/onnx/torch_conv_lstm.onnx),
// and back (graph-encode.ts) without losing a node, attribute or initializer byte.

const FILE = join(import.meta.dirname, "../../fixtures/onnx/torch_conv_lstm.onnx");

describe("readOnnxGraph", () => {
  it("reads every node with its attributes, initializers as lazy tensors", async () => {
    const source = await fileSource(FILE);
    try {
      const graph = await readOnnxGraph(source);
      expect(graph.opset).toBeGreaterThanOrEqual(9);
      expect(graph.inputs.map((i) => i.name)).toEqual(["x"]);
      const conv = graph.nodes.find((n) => n.op === "Conv")!;
      expect(conv.attributes.kernel_shape).toEqual({ type: "ints", value: [3, 3] });
      const lstm = graph.nodes.find((n) => n.op === "LSTM")!;
      expect(lstm.attributes.hidden_size).toEqual({ type: "int", value: 5 });
      const weight = graph.initializers.find((t) => t.name === "onnx::Conv_117")!;
      expect(weight.shape).toEqual([4, 2, 3, 3]);
      expect((await weight.data.read()).byteLength).toBe(4 * 2 * 3 * 3 * 4);
    } finally {
      await source.close();
    }
  });

  it("round-trips through graph-encode", async () => {
    const source = await fileSource(FILE);
    try {
      const graph = await readOnnxGraph(source);
      const again = await readOnnxGraph(memorySource(await encodeGraphModel(graph)));
      expect(again.nodes.map((n) => [n.name, n.op, n.inputs, n.outputs, Object.keys(n.attributes)])).toEqual(
        graph.nodes.map((n) => [n.name, n.op, n.inputs, n.outputs, Object.keys(n.attributes)]),
      );
      for (const [i, t] of graph.initializers.entries()) {
        expect(Buffer.from(await again.initializers[i]!.data.read()).equals(Buffer.from(await t.data.read()))).toBe(true);
      }
    } finally {
      await source.close();
    }
  });
});
