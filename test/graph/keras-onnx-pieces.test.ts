import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { openSource } from "../../src/api/open.js";
import { graphOfModel } from "../../src/formats/onnx/graph.js";
import { parseModel } from "../../src/formats/onnx/read.js";
import { encodeGraphModel } from "../../src/formats/onnx/graph-encode.js";
import { runGraphInPieces, piecewiseInputs } from "../../src/verify/whole-model/graph-chunks.js";
import { runGraph, seededValues, tensorOf } from "../../src/verify/whole-model/onnx-run.js";
import { seededRandom } from "../../src/verify/random.js";
import { runCase, sequential } from "./keras-onnx-harness.js";

// The default check runs the written graph piece by piece (one piece's weights in memory at a
// time). Cut as finely as it goes (every node a piece), a converted model's outputs must be
// exactly the outputs of one onnxruntime session over the whole file.

const SIG = { recurrent_activation: "sigmoid" };

const MODELS = {
  conv_dense: () =>
    sequential(
      "pc_conv",
      [6, 6, 2],
      [
        ["Conv2D", { filters: 3, kernel_size: [3, 3], padding: "same", activation: "relu" }],
        ["BatchNormalization", {}],
        ["MaxPooling2D", { pool_size: [2, 2] }],
        ["Flatten", {}],
        ["Dense", { units: 4, activation: "tanh" }],
      ],
    ),
  masked_bidirectional: () =>
    sequential(
      "pc_mask",
      [5],
      [
        ["Embedding", { input_dim: 7, output_dim: 4, mask_zero: true }],
        ["Bidirectional", { layer: { class_name: "LSTM", config: { name: "pc_lstm", units: 3, return_sequences: true, ...SIG } } }],
        ["GRU", { units: 2, reset_after: false, ...SIG }],
      ],
    ),
};

describe("the written graph run piece by piece equals one session over the file", () => {
  for (const [name, config] of Object.entries(MODELS)) {
    it(name, async () => {
      const masked = name.startsWith("masked");
      const r = await runCase(`pieces_${name}`, config(), masked ? { intBelow: 7 } : {});
      const source = await openSource(r.onnx);
      try {
        const { model, context } = await parseModel(source, {}, 0);
        const graph = await graphOfModel(model, context);
        const inputs = piecewiseInputs(graph);
        const random = seededRandom(7);
        const values = inputs.map((g) => seededValues(g, random));
        if (masked) values[0]!.set([3, 0, 2, 0, 0, 0, 0, 4, 1, 5]);
        const whole = await runGraph(ort, await ort.InferenceSession.create(r.onnx), inputs, values, "whole");
        const pieces = await runGraphInPieces(ort, graph, encodeGraphModel, inputs, values, (g, v) => tensorOf(ort, g, v), 1);
        expect(pieces.map((p) => p.shape)).toEqual(whole.map((w) => w.shape));
        pieces.forEach((p, i) => expect(Buffer.from(p.values.buffer).equals(Buffer.from(whole[i]!.values.buffer)), `output ${i}`).toBe(true));
        expect(graph.nodes.length).toBeGreaterThan(5);
        expect(Math.max(...whole[0]!.values.map(Math.abs))).toBeGreaterThan(1e-3);
      } finally {
        await source.close();
      }
    }, 240_000);
  }
});
