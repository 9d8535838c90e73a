import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../src/api/open.js";
import { composeKeras, kerasGraph, type Value } from "../../src/verify/whole-model/keras-compose.js";
import { groupLayers } from "../../src/verify/pairing.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { f32, values } from "./helpers.js";

// The whole-model check's Keras side: reference layers composed along a model config must compute
// what Keras computes. TensorFlow.js (Keras' semantics in JS) builds the same model from the same
// config and weights and predicts on the same input.

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function predict(model: tf.LayersModel, x: Value): Promise<Float32Array> {
  const y = model.predict(tf.tensor(Float32Array.from(x.data), x.shape)) as tf.Tensor;
  return (await y.data()) as Float32Array;
}

/** Random weights (positive variances) set on the tfjs model, and the same numbers as Keras-named tensors. */
function randomWeights(model: tf.LayersModel): Tensor[] {
  const tensors: Tensor[] = [];
  for (const layer of model.layers) {
    const ws = layer.weights.map((w, i) => {
      const role = w.name.split("/").pop()!.replace(/_\d+$/, "");
      const v = values(w.shape.reduce((a, b) => a! * b!, 1)!, tensors.length + i + 11).map((a) => (role === "moving_variance" ? Math.abs(a) + 0.5 : a));
      tensors.push(f32(`${layer.name}/${role}:0`, w.shape as number[], v, { framework: "keras", path: layer.name }));
      return tf.tensor(v, w.shape as number[]);
    });
    if (ws.length) layer.setWeights(ws);
  }
  return tensors;
}

describe("Keras models composed from reference layers, against TensorFlow.js", () => {
  it("the real Keras 2.0 Conv2D(same, relu) → Dropout → Flatten → Dense(softmax) fixture (config from model.to_json())", async () => {
    const dir = join(FIXTURES, "keras/real");
    const config = JSON.parse(readFileSync(join(dir, "KERAS_conv2d_model.json"), "utf8")) as JsonValue;
    const weights = await read(join(dir, "KERAS_conv2d_model_weights.h5"), { modelConfig: config });
    const model = await tf.models.modelFromJSON({ modelTopology: config as tf.io.ModelJSON["modelTopology"] });
    const byName = new Map(weights.tensors.map((t) => [t.name, t]));
    for (const layer of model.layers) {
      if (!layer.weights.length) continue;
      const ws = await Promise.all(
        layer.weights.map(async (w) => {
          const t = byName.get(`${layer.name}/${w.name.split("/").pop()}:0`)!;
          return tf.tensor(new Float32Array((await t.data.read()).slice().buffer), [...t.shape]);
        }),
      );
      layer.setWeights(ws);
    }
    const x: Value = { shape: [3, 8, 8, 1], data: Float64Array.from(values(3 * 64, 5)) };
    const layers = groupLayers(weights.tensors, "keras");
    const [y] = await composeKeras(config, [x], (name) => layers.get(name) ?? []);
    await weights.close();
    expect(y!.shape).toEqual([3, 10]);
    expect(maxAbs(y!.data, await predict(model, x))).toBeLessThan(1e-6);
  });

  it("a Functional model with a residual Add, LayerNormalization, BatchNormalization and a Concatenate (config from tfjs' toJSON)", async () => {
    const input = tf.input({ shape: [6], name: "x" });
    const d1 = tf.layers.dense({ units: 8, activation: "relu", name: "d1" }).apply(input) as tf.SymbolicTensor;
    const d2 = tf.layers.dense({ units: 8, activation: "tanh", name: "d2" }).apply(d1) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: "res" }).apply([d1, d2]) as tf.SymbolicTensor;
    const ln = tf.layers.layerNormalization({ epsilon: 1e-3, name: "ln" }).apply(sum) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ epsilon: 1e-3, name: "bn" }).apply(ln) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: "cat" }).apply([bn, input]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: "softmax", name: "out" }).apply(cat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const tensors = randomWeights(model);
    const config = model.toJSON(null, false) as unknown as JsonValue;
    expect(kerasGraph(config).nodes.find((n) => n.name === "res")!.inputs).toEqual(["d1", "d2"]);
    const x: Value = { shape: [4, 6], data: Float64Array.from(values(24, 3)) };
    const layers = groupLayers(tensors, "keras");
    const [y] = await composeKeras(config, [x], (name) => layers.get(name) ?? []);
    expect(maxAbs(y!.data, await predict(model, x))).toBeLessThan(1e-6);
  });

  for (const [name, build, inputShape] of [
    [
      "Conv2D strides 2 same → MaxPooling2D same → Conv2D valid → AveragePooling2D same stride 1 → GlobalAveragePooling2D → Dense",
      () => [
        tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu", name: "c1" }),
        tf.layers.maxPooling2d({ poolSize: 2, padding: "same", name: "p1" }),
        tf.layers.conv2d({ filters: 3, kernelSize: [2, 1], name: "c2" }),
        tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "same", name: "p2" }),
        tf.layers.globalAveragePooling2d({ name: "g" }),
        tf.layers.dense({ units: 2, name: "fc" }),
      ],
      [9, 10, 3],
    ],
    [
      "Conv1D strides 2 valid → MaxPooling1D valid → GlobalMaxPooling1D → Dense(sigmoid)",
      () => [
        tf.layers.conv1d({ filters: 5, kernelSize: 3, strides: 2, activation: "tanh", name: "c1" }),
        tf.layers.maxPooling1d({ poolSize: 2, strides: 1, name: "p1" }),
        tf.layers.globalMaxPooling1d({ name: "g" }),
        tf.layers.dense({ units: 3, activation: "sigmoid", name: "fc" }),
      ],
      [11, 2],
    ],
  ] as const) {
    it(`strided convolutions and pooling: ${name}`, async () => {
      const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [...inputShape], name: "x" }), ...build()] });
      const tensors = randomWeights(model);
      const config = model.toJSON(null, false) as unknown as JsonValue;
      const x: Value = { shape: [2, ...inputShape], data: Float64Array.from(values(2 * inputShape.reduce((a, b) => a * b, 1), 9)) };
      const layers = groupLayers(tensors, "keras");
      const [y] = await composeKeras(config, [x], (n) => layers.get(n) ?? []);
      expect(maxAbs(y!.data, await predict(model, x))).toBeLessThan(1e-5);
    });
  }

  it("reads Keras 3 configs (batch_shape, inbound nodes as keras tensors) like Keras 2 ones", async () => {
    const kt = (layer: string) => ({ class_name: "__keras_tensor__", config: { shape: [null, 4], dtype: "float32", keras_history: [layer, 0, 0] } });
    const config = {
      module: "keras",
      class_name: "Functional",
      config: {
        name: "f",
        layers: [
          { module: "keras.layers", class_name: "InputLayer", name: "x", config: { name: "x", batch_shape: [null, 4] }, inbound_nodes: [] },
          {
            module: "keras.layers",
            class_name: "Dense",
            name: "d",
            config: { name: "d", units: 4, activation: "relu" },
            inbound_nodes: [{ args: [kt("x")], kwargs: {} }],
          },
          { module: "keras.layers", class_name: "Add", name: "res", config: { name: "res" }, inbound_nodes: [{ args: [[kt("x"), kt("d")]], kwargs: {} }] },
        ],
        input_layers: [["x", 0, 0]],
        output_layers: [["res", 0, 0]],
      },
    };
    const graph = kerasGraph(config);
    expect(graph.inputs).toEqual([{ name: "x", shape: [null, 4] }]);
    expect(graph.nodes.map((n) => [n.name, n.inputs])).toEqual([
      ["d", ["x"]],
      ["res", ["x", "d"]],
    ]);
    // y = x + relu(x·K + b), by hand.
    const K = [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1];
    const tensors = [f32("d/kernel:0", [4, 4], K, { framework: "keras", path: "d" }), f32("d/bias:0", [4], [0, 0, 0, 0.5], { framework: "keras", path: "d" })];
    const layers = groupLayers(tensors, "keras");
    const [y] = await composeKeras(config, [{ shape: [1, 4], data: Float64Array.from([1, 1, 1, -1]) }], (name) => layers.get(name) ?? []);
    expect(Array.from(y!.data)).toEqual([2, 3, 1, -1]);
  });

  it("says what it does not cover instead of computing it", async () => {
    const config = {
      class_name: "Sequential",
      config: {
        name: "s",
        layers: [
          { class_name: "InputLayer", config: { name: "in", batch_input_shape: [null, 4, 4, 1] } },
          { class_name: "Resizing", config: { name: "resize", height: 8, width: 8 } },
        ],
      },
    };
    await expect(composeKeras(config, [{ shape: [1, 4, 4, 1], data: new Float64Array(16) }], () => [])).rejects.toThrow(
      /layer resize is a Resizing \(not covered by the composed check\)/,
    );
    expect(() => kerasGraph({ class_name: "MyModel", config: { layers: [] } })).toThrow(/subclassed MyModel: its call\(\) is not in the file/);
  });
});
