import { describe, expect, test } from "vitest";
import { fileSource, memorySource } from "../../../src/io/source.js";
import { readKerasH5 } from "../../../src/formats/keras/legacy-read.js";
import { readKeras } from "../../../src/formats/keras/v3-read.js";
import { loadExpected } from "../../helpers/expected.js";
import { expectMatches, FIXTURES, REAL } from "./helpers.js";
import { readFileSync } from "node:fs";

describe("keras readers on memory sources", () => {
  // Every keras fixture is read from its file against its expected JSON in ../fixtures.test.ts.
  test("memory sources (no file) read the same", async () => {
    const bytes = readFileSync(`${FIXTURES}keras3.weights.h5`);
    const checkpoint = await readKeras(memorySource(new Uint8Array(bytes), "k.weights.h5"));
    await expectMatches(checkpoint, loadExpected(`${FIXTURES}keras3.weights.h5.expected.json`));
  });
});

describe("keras-h5 meta and layer hints", () => {
  test("model.save: model_config, layers, nested model, optimizer role", async () => {
    const source = await fileSource(`${FIXTURES}tfkeras_model.h5`);
    const c = await readKerasH5(source);
    expect((c.meta.model_config as { class_name: string }).class_name).toBe("Functional");
    expect((c.meta.training_config as { loss: string }).loss).toBe("mse");
    const layout = c.meta.keras_h5 as { model: boolean; layers: Array<{ name: string; weights: string[] }>; topLevel: string[]; optimizer: string[] };
    expect(layout.model).toBe(true);
    expect(layout.layers.map((l) => l.name)).toEqual(["input_1", "conv2d", "batch_normalization", "flatten", "head", "embedding", "dense_64"]);
    expect(layout.layers[3]!.weights).toEqual([]);
    expect(layout.topLevel).toEqual([]);
    const byName = new Map(c.tensors.map((t) => [t.name, t]));
    expect(byName.get("conv2d/kernel:0")!.layer).toMatchObject({
      framework: "keras",
      kind: "conv2d",
      className: "Conv2D",
      path: "conv2d",
      attributes: { data_format: "channels_last" },
    });
    expect(byName.get("batch_normalization/moving_mean:0")!.layer?.kind).toBe("batchnorm");
    // nested model: the sub-layer's class, the outer group in the path
    expect(byName.get("head/dense/kernel:0")!.layer).toMatchObject({ kind: "linear", path: "head/dense" });
    expect(byName.get("head/bn_head/moving_variance:0")!.layer).toMatchObject({ kind: "batchnorm", path: "head/bn_head" });
    expect(byName.get("embedding/embeddings:0")!.dtype).toBe("float16");
    expect(byName.get("dense_64/kernel:0")!.dtype).toBe("float64");
    const iter = byName.get("optimizer_weights/Adam/iter:0")!;
    expect(iter).toMatchObject({ role: "optimizer", dtype: "int64", shape: [] });
    expect(Array.from(new BigInt64Array((await iter.data.read()).slice().buffer))).toEqual([7n]);
    await source.close();
    await expect(iter.data.read()).rejects.toMatchObject({ name: "WeightbridgeError", code: "io" });
  });

  test("real hgq model: repeated quantizer weight names get their layer prefix", async () => {
    const source = await fileSource(`${REAL}hgq_jet_classifier.h5`);
    const c = await readKerasH5(source);
    await source.close();
    const names = c.tensors.map((t) => t.name);
    expect(names).toContain("dense_1_quantizer/bits:0");
    expect(names).toContain("dense_2_quantizer/bits:0");
    expect(new Set(names).size).toBe(names.length);
    expect(c.tensors.find((t) => t.name === "dense_1/kernel:0")!.layer).toMatchObject({ kind: "linear", className: "Dense" });
    expect(c.meta.keras_version).toBe("2.13.1");
  });
});

describe("keras (Keras 3) meta and hints", () => {
  test(".weights.h5: objects with name attributes, bfloat16, optimizer role", async () => {
    const source = await fileSource(`${FIXTURES}keras3.weights.h5`);
    const c = await readKeras(source);
    await source.close();
    const objects = (c.meta.keras as { objects: Array<{ path: string; name?: string }> }).objects;
    expect(objects).toContainEqual({ path: "layers/input_layer", name: "input_layer" });
    expect(objects).toContainEqual({ path: "", name: "my_model" });
    const t = (n: string) => c.tensors.find((x) => x.name === n)!;
    expect(t("layers/dense_1/vars/1").dtype).toBe("bfloat16");
    expect(t("layers/dense/vars/0").layer).toMatchObject({ framework: "keras", path: "encoder", kind: "linear" });
    expect(t("layers/lstm/cell/vars/0").layer?.kind).toBe("lstm");
    expect(t("optimizer/vars/0")).toMatchObject({ role: "optimizer", dtype: "int64", shape: [] });
  });

  test("real .keras: config.json, metadata.json, name attributes as layer paths", async () => {
    const source = await fileSource(`${REAL}nested_container.keras`);
    const c = await readKeras(source);
    await source.close();
    expect((c.meta.config as { class_name: string }).class_name).toBe("NestedDenseModel");
    expect(c.meta.keras_version).toBe("3.15.0");
    expect(c.tensors[0]!.layer).toMatchObject({ path: "d_0", kind: "linear" });
    expect(c.tensors.find((t) => t.name === "layers/dense_3/vars/1")!.layer?.path).toBe("dense");
  });

  test("tf.keras 2.13 .keras with _layer_checkpoint_dependencies", async () => {
    const source = await fileSource(`${FIXTURES}tfkeras213.keras`);
    const c = await readKeras(source);
    await source.close();
    expect(c.tensors[0]!.name).toBe("_layer_checkpoint_dependencies/conv2d/vars/0");
    expect(c.tensors[0]!.layer?.kind).toBe("conv2d");
  });
});
