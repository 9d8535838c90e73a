import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { runRealCase } from "./keras-onnx-harness.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";

// Real files Keras and TensorFlow wrote (fixtures/keras/real, fixtures/tensorflow; provenance in
// their PROVENANCE/README): each converted to a runnable ONNX graph, run in onnxruntime against
// TensorFlow.js running the file's own config and weights on the same seeded inputs.

const TF = "fixtures/tensorflow";
const REAL = "fixtures/keras/real";

/** tfjs' Flatten refuses a rank-2 input, which Keras passes through: give tfjs the same identity as a Reshape. */
const flattenAsReshape = (config: JsonValue): JsonValue =>
  JSON.parse(
    JSON.stringify(config).replace(
      /"class_name":"Flatten","config":\{"name":"flatten",/g,
      '"class_name":"Reshape","config":{"target_shape":[5],"name":"flatten",',
    ),
  );

const CASES: Array<{ name: string; path: string; kerasConfig?: string; forTfjs?: (c: JsonValue) => JsonValue }> = [
  { name: "hls4ml_3layer", path: join(REAL, "KERAS_3layer_weights.h5"), kerasConfig: join(REAL, "KERAS_3layer.json") },
  { name: "hls4ml_conv2d", path: join(REAL, "KERAS_conv2d_model_weights.h5"), kerasConfig: join(REAL, "KERAS_conv2d_model.json") },
  { name: "savedmodel_cnn2d_bn", path: join(TF, "savedmodel-cnn2d-batchnorm-dropout-adam") },
  { name: "savedmodel_conv1d", path: join(TF, "savedmodel-conv1d-maxpool-dense-adam") },
  { name: "savedmodel_lstm", path: join(TF, "savedmodel-lstm-dense-adam-k26") },
  { name: "savedmodel_mlp_bn_tf22", path: join(TF, "savedmodel-mlp-bn-dropout-adam-sharded-tf22") },
  { name: "savedmodel_2input_shared_nested", path: join(TF, "savedmodel-2input-shared-submodel-concat-adam"), forTfjs: flattenAsReshape },
];

describe("real Keras files → runnable ONNX graphs agree with TensorFlow.js", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await runRealCase(c.name, c.path, { kerasConfig: c.kerasConfig, forTfjs: c.forTfjs });
      if (process.env.WB_DEBUG) process.stderr.write(`REAL ${c.name} maxRel=${r.maxRel} maxAbs=${r.maxAbs} spread=${r.spread}\n`);
      expect(r.spread).toBeGreaterThan(1e-4);
      expect(r.maxRel, `max abs ${r.maxAbs}`).toBeLessThan(1e-4);
    }, 240_000);
  }
});
