import { describe, expect, it } from "vitest";
import { read } from "../../../src/api/open.js";
import { crc32c, maskCrc32c, unmaskCrc32c } from "../../../src/util/crc32c.js";
import { utf8 } from "../../../src/util/bytes.js";
import { tf } from "./fixtures.js";

// Every real fixture: how many numeric tensors it holds (all of them read, each crc32c checked
// against what TensorFlow stored), which names it must show, and what goes to meta.
const CASES: Array<{ path: string; format: string; tensors: number; names: string[]; meta?: Record<string, unknown> }> = [
  { path: "savedmodel-tf2-half-plus-two", format: "tf-savedmodel", tensors: 3, names: ["a", "b", "c"] },
  { path: "savedmodel-tf1-half-plus-two-conv2d", format: "tf-savedmodel", tensors: 9, names: ["a", "b", "c", "conv2d/kernel"] },
  {
    path: "savedmodel-2input-shared-submodel-concat-adam",
    format: "tf-savedmodel",
    tensors: 12,
    names: ["dense/kernel", "test_out/kernel", "optimizer/dense/kernel/m", "optimizer/test_out/bias/v"],
    meta: { optimizer: { "Adam/iter": 1 } },
  },
  {
    path: "savedmodel-cnn2d-batchnorm-dropout-adam",
    format: "tf-savedmodel",
    tensors: 90,
    names: ["conv2d/kernel", "batch_normalization/moving_variance", "optimizer/conv2d/kernel/m"],
  },
  {
    path: "savedmodel-conv1d-maxpool-dense-adam",
    format: "tf-savedmodel",
    tensors: 24,
    names: ["conv1d/kernel", "dense_1/bias", "optimizer/conv1d/kernel/m", "optimizer/dense_1/bias/v"],
    meta: { optimizer: { iteration: 40880 } },
  },
  {
    // Keras 2.12, new optimizer SGD(momentum): its momentums are `SGD/m/<variable>` in optimizer/_variables.
    path: "savedmodel-dense-dropout-sgd-momentum-k212",
    format: "tf-savedmodel",
    tensors: 12,
    names: ["dense/kernel", "dense_2/bias", "optimizer/dense/kernel/m", "optimizer/dense_2/bias/m"],
    meta: { optimizer: { iteration: 2200 }, optimizer_class: "SGD" },
  },
  {
    // Keras 2.12 bAbI memory network, new RMSprop (`RMSprop/velocity/<variable>`); nested Sequentials' Embeddings keyed `variables/N`.
    path: "savedmodel-babi-memnn-rmsprop-k212",
    format: "tf-savedmodel",
    tensors: 16,
    names: ["embedding_1/embeddings", "lstm/lstm_cell/recurrent_kernel", "optimizer/embedding_2/embeddings/velocity", "optimizer/dense/bias/velocity"],
    meta: { optimizer: { iteration: 46950 }, optimizer_class: "RMSprop" },
  },
  {
    path: "savedmodel-lstm-dense-adam-k26",
    format: "tf-savedmodel",
    tensors: 27,
    names: ["lstm_5/lstm_cell_5/kernel", "lstm_5/lstm_cell_5/recurrent_kernel", "dense_17/bias", "optimizer/lstm_5/lstm_cell_5/bias/v"],
  },
  {
    // Keras 3 model.export(): keys are `variables/N`; names come from saved_model.pb's SavedVariables.
    path: "savedmodel-keras3-export-bidirectional-lstm-dense",
    format: "tf-savedmodel",
    tensors: 13,
    names: ["sequential_6/bidirectional_6/backward_lstm_6/lstm_cell/recurrent_kernel", "sequential_6/dense_13/bias", "seed_generator_25/seed_generator_state"],
  },
  {
    path: "savedmodel-mlp-bn-dropout-adam-sharded-tf22",
    format: "tf-savedmodel",
    tensors: 62,
    names: ["dense_10/kernel", "batch_normalization_8/moving_mean"],
  },
  {
    path: "ckpt-keras-modelcheckpoint-mlp-epoch0-tf23/cp-0000.ckpt.index",
    format: "tf-checkpoint",
    tensors: 4,
    names: ["dense_4/kernel", "dense_5/bias"],
    meta: { bundle: { object_graph: true } },
  },
  {
    path: "ckpt-tf1-layers-cnn-adam",
    format: "tf-checkpoint",
    tensors: 20,
    names: ["conv2d/kernel", "optimizer/dense/kernel/Adam", "optimizer/dense/kernel/Adam_1", "optimizer/beta1_power"],
    meta: { global_step: 20000, checkpoint_keys: { "optimizer/dense/kernel/Adam": "dense/kernel/Adam" } },
  },
  {
    path: "ckpt-tf1-estimator-dnn-adagrad-sharded/model.ckpt-3000",
    format: "tf-checkpoint",
    tensors: 16,
    names: ["dnn/hiddenlayer_0/kernel", "optimizer/dnn/logits/bias/t_0/Adagrad"],
    meta: { global_step: 3000 },
  },
];

describe("TensorFlow bundles written by TensorFlow", () => {
  for (const c of CASES) {
    it(`${c.path}: ${c.tensors} tensors, every crc32c verified`, async () => {
      const checkpoint = await read(tf(c.path));
      try {
        expect(checkpoint.format).toBe(c.format);
        expect(checkpoint.tensors).toHaveLength(c.tensors);
        for (const t of checkpoint.tensors) expect((await t.data.read()).byteLength).toBe(t.data.byteLength);
        const names = checkpoint.tensors.map((t) => t.name);
        for (const n of c.names) expect(names).toContain(n);
        if (c.meta) expect(checkpoint.meta.tensorflow).toMatchObject(c.meta);
      } finally {
        await checkpoint.close();
      }
    });
  }

  it("keeps each TF2 tensor's checkpoint key in meta and takes layer hints from the Keras metadata", async () => {
    const lstm = await read(tf("savedmodel-lstm-dense-adam-k26"));
    const keys = (lstm.meta.tensorflow as { checkpoint_keys: Record<string, string> }).checkpoint_keys;
    expect(keys["dense_15/kernel"]).toBe("layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    expect(keys["lstm_5/lstm_cell_5/kernel"]).toBe("trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE");
    const kernel = lstm.tensors.find((t) => t.name === "lstm_5/lstm_cell_5/kernel")!;
    expect(kernel.layer).toMatchObject({ kind: "lstm", className: "LSTM", path: "lstm_5", attributes: { units: 64 } });
    expect(lstm.tensors.find((t) => t.name === "optimizer/dense_15/kernel/m")!.role).toBe("optimizer");
    await lstm.close();
    // TF 2.2 (no keras_metadata.pb): the same JSON from saved_model.pb's object graph.
    const tf22 = await read(tf("savedmodel-mlp-bn-dropout-adam-sharded-tf22"));
    expect(tf22.tensors.find((t) => t.name === "batch_normalization_8/gamma")!.layer).toMatchObject({ kind: "batchnorm", className: "BatchNormalization" });
    await tf22.close();
    // Conv1D → MaxPooling1D → Flatten → Dense: the Flatten's channel count, for keras2torch's row reorder.
    const conv1d = await read(tf("savedmodel-conv1d-maxpool-dense-adam"));
    expect(conv1d.tensors.find((t) => t.name === "dense/kernel")!.layer?.attributes).toMatchObject({ flattenedFrom: { channels: 32 } });
    expect(conv1d.tensors.find((t) => t.name === "dense_1/kernel")!.layer?.attributes?.flattenedFrom).toBeUndefined();
    await conv1d.close();
  });

  it("reads a folder whose checkpoint state file names the latest prefix, and the bare prefix", async () => {
    const byFolder = await read(tf("ckpt-tf1-layers-cnn-adam"));
    const byPrefix = await read(tf("ckpt-tf1-layers-cnn-adam/model.ckpt-20000"));
    expect(byFolder.tensors.map((t) => t.name)).toEqual(byPrefix.tensors.map((t) => t.name));
    await byFolder.close();
    await byPrefix.close();
    // This folder's state file names cp-0050.ckpt, which its author did not commit.
    await expect(read(tf("ckpt-keras-modelcheckpoint-mlp-epoch0-tf23"))).rejects.toThrow(/cp-0050\.ckpt\.index, is missing \(present: cp-0000\.ckpt\.index/);
  });
});

describe("crc32c", () => {
  it("is CRC-32C (Castagnoli) with LevelDB's mask", () => {
    expect(crc32c(utf8("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const c = crc32c(utf8("hello world, this is longer than eight bytes"));
    expect(crc32c(utf8(" bytes"), crc32c(utf8("hello world, this is longer than eight")))).toBe(c);
    expect(unmaskCrc32c(maskCrc32c(c))).toBe(c);
  });
});
