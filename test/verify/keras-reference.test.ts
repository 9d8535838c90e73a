import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { computeReference } from "../../src/verify/check.js";
import { sideOf } from "../../src/verify/pairing.js";
import { f32, values } from "./helpers.js";

// The Keras-side reference layers against TensorFlow.js layers (Keras' semantics in JS, CPU
// backend): each layer is built with random weights, fed an input in Keras' channels-last
// layout, and must compute what our reference computes from its weights named as Keras names them.
// GRU reset_after=True and MultiHeadAttention are not in tfjs 4.x: keras-numpy.test.ts has them.

interface Case {
  name: string;
  kind: string;
  layer: () => tf.layers.Layer;
  /** Input shape without the batch, in Keras' layout. */
  inputShape: number[];
  weights: string[];
  /** Spatial rank: canonical [C, positions] ⇄ Keras [positions, C] (batch 1). */
  spatial?: boolean;
  attrs?: Record<string, unknown>;
  batch?: number;
}

const CASES: Case[] = [
  { name: "dense", kind: "linear", layer: () => tf.layers.dense({ units: 5 }), inputShape: [6], weights: ["kernel", "bias"], batch: 2 },
  {
    name: "conv1d",
    kind: "conv1d",
    layer: () => tf.layers.conv1d({ filters: 4, kernelSize: 2 }),
    inputShape: [4, 3],
    weights: ["kernel", "bias"],
    spatial: true,
  },
  {
    name: "conv2d",
    kind: "conv2d",
    layer: () => tf.layers.conv2d({ filters: 4, kernelSize: [3, 2] }),
    inputShape: [5, 4, 3],
    weights: ["kernel", "bias"],
    spatial: true,
  },
  {
    name: "conv3d",
    kind: "conv3d",
    layer: () => tf.layers.conv3d({ filters: 3, kernelSize: 2 }),
    inputShape: [4, 4, 4, 2],
    weights: ["kernel", "bias"],
    spatial: true,
  },
  {
    name: "depthwise",
    kind: "depthwise_conv2d",
    layer: () => tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }),
    inputShape: [5, 5, 3],
    weights: ["depthwise_kernel", "bias"],
    spatial: true,
  },
  {
    name: "separable",
    kind: "separable_conv2d",
    layer: () => tf.layers.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 2 }),
    inputShape: [5, 5, 3],
    weights: ["depthwise_kernel", "pointwise_kernel", "bias"],
    spatial: true,
  },
  {
    name: "transpose",
    kind: "conv_transpose2d",
    layer: () => tf.layers.conv2dTranspose({ filters: 3, kernelSize: 2 }),
    inputShape: [4, 4, 4],
    weights: ["kernel", "bias"],
    spatial: true,
  },
  {
    name: "bn",
    kind: "batchnorm",
    layer: () => tf.layers.batchNormalization({ epsilon: 1e-3 }),
    inputShape: [5],
    weights: ["gamma", "beta", "moving_mean", "moving_variance"],
    attrs: { epsilon: 1e-3 },
    batch: 3,
  },
  {
    name: "ln",
    kind: "layernorm",
    layer: () => tf.layers.layerNormalization({ epsilon: 1e-3 }),
    inputShape: [6],
    weights: ["gamma", "beta"],
    attrs: { epsilon: 1e-3 },
    batch: 3,
  },
  {
    name: "lstm",
    kind: "lstm",
    layer: () => tf.layers.lstm({ units: 3, returnSequences: true, recurrentActivation: "sigmoid" }),
    inputShape: [3, 4],
    weights: ["kernel", "recurrent_kernel", "bias"],
    batch: 2,
  },
  {
    name: "gru",
    kind: "gru",
    layer: () => tf.layers.gru({ units: 3, returnSequences: true, recurrentActivation: "sigmoid", resetAfter: false }),
    inputShape: [3, 4],
    weights: ["kernel", "recurrent_kernel", "bias"],
    attrs: { reset_after: false },
    batch: 2,
  },
  {
    name: "rnn",
    kind: "rnn",
    layer: () => tf.layers.simpleRNN({ units: 3, returnSequences: true }),
    inputShape: [3, 4],
    weights: ["kernel", "recurrent_kernel", "bias"],
    batch: 2,
  },
  {
    name: "bilstm",
    kind: "lstm",
    batch: 2,
    inputShape: [3, 4],
    layer: () =>
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2, returnSequences: true, recurrentActivation: "sigmoid" }) as tf.RNN, mergeMode: "concat" }),
    weights: [
      "forward_lstm/lstm_cell/kernel",
      "forward_lstm/lstm_cell/recurrent_kernel",
      "forward_lstm/lstm_cell/bias",
      "backward_lstm/lstm_cell/kernel",
      "backward_lstm/lstm_cell/recurrent_kernel",
      "backward_lstm/lstm_cell/bias",
    ],
  },
];

/** canonical [C, P] → Keras [P, C] and back. */
function channelsLast(x: Float64Array | Float32Array, channels: number): Float32Array {
  const P = x.length / channels;
  const out = new Float32Array(x.length);
  for (let c = 0; c < channels; c++) for (let p = 0; p < P; p++) out[p * channels + c] = x[c * P + p]!;
  return out;
}
function channelsFirst(x: Float32Array, channels: number): Float32Array {
  const P = x.length / channels;
  const out = new Float32Array(x.length);
  for (let c = 0; c < channels; c++) for (let p = 0; p < P; p++) out[c * P + p] = x[p * channels + c]!;
  return out;
}

describe("Keras reference layers against TensorFlow.js", () => {
  it("every layer kind computes what the tfjs layer computes", async () => {
    await tf.setBackend("cpu");
    let seed = 100;
    const worst: Record<string, number> = {};
    for (const c of CASES) {
      const layer = c.layer();
      const batch = c.spatial ? 1 : c.batch!;
      layer.apply(tf.input({ shape: c.inputShape }));
      const ws = layer.getWeights();
      expect(ws.length, c.name).toBe(c.weights.length);
      const fresh = ws.map((w) => {
        const v = values(w.size, seed++);
        // Variances must be positive.
        return w.shape.length === 1 && c.kind === "batchnorm" && ws.indexOf(w) === 3 ? v.map((x) => Math.abs(x) + 0.5) : v;
      });
      layer.setWeights(fresh.map((v, i) => tf.tensor(v, ws[i]!.shape)));
      const tensors = fresh.map((v, i) => f32(`${c.name}/${c.weights[i]}:0`, ws[i]!.shape as number[], v));
      const side = sideOf(tensors, "keras", c.attrs ?? {});
      const { output, input } = await computeReference(
        c.kind,
        side,
        c.spatial ? undefined : Float64Array.from(values(batch * c.inputShape.reduce((a, b) => a * b, 1), seed++)),
      );
      const channels = c.inputShape[c.inputShape.length - 1]!;
      const x = c.spatial ? channelsLast(input, channels) : Float32Array.from(input);
      const y = layer.apply(tf.tensor(x, [batch, ...c.inputShape])) as tf.Tensor;
      const got = (await y.data()) as Float32Array;
      const expected = c.spatial ? channelsFirst(got, y.shape[y.shape.length - 1]!) : got;
      expect(output.length, c.name).toBe(expected.length);
      expect(Math.max(...Array.from(expected, Math.abs)), `${c.name}: a non-trivial output`).toBeGreaterThan(0.05);
      let err = 0;
      for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(output[i]! - expected[i]!));
      worst[c.name] = err;
    }
    for (const [name, err] of Object.entries(worst)) expect(err, `${name}: max |Δ| ${err}`).toBeLessThan(1e-5);
  });
});
