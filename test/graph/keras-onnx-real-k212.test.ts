import { describe, expect, it } from "vitest";
import { checkWrittenAtEnd, runRealCase } from "./keras-onnx-harness.js";

// A real tf.keras 2.12 model.save .h5 compiled with the new SGD (optimizer_weights `SGD/m/…`), and a
// real Keras 2.12 SavedModel of the Keras bAbI memory network (two token inputs, Embeddings inside
// nested Sequentials keyed only `variables/N`, Dot, Activation, Add, Permute, Concatenate, LSTM),
// compiled with the new RMSprop: its runnable ONNX graph computes in onnxruntime what TensorFlow.js
// computes from the file's own config and weights, on the same seeded token ids.

checkWrittenAtEnd();

describe("real Keras 2.12 files compiled with the new optimizers → runnable ONNX", () => {
  it("chatbot .h5 (Dense, Dropout; SGD): agrees with TensorFlow.js within 1e-4", async () => {
    const r = await runRealCase("h5_chatbot_sgd_k212", "fixtures/keras/real/chatbot_sgd_tfkeras212.h5");
    expect(r.spread).toBeGreaterThan(1e-4);
    expect(r.maxRel, `max abs ${r.maxAbs}`).toBeLessThan(1e-4);
  }, 240_000);

  it("bAbI memory network SavedModel (RMSprop): agrees with TensorFlow.js within 1e-4", async () => {
    const r = await runRealCase("savedmodel_babi_memnn_rmsprop", "fixtures/tensorflow/savedmodel-babi-memnn-rmsprop-k212", { intBelow: 38 });
    expect(r.spread).toBeGreaterThan(1e-4);
    expect(r.maxRel, `max abs ${r.maxAbs}`).toBeLessThan(1e-4);
  }, 240_000);
});
