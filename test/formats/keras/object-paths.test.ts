import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { layersByObjectPath, owningLayerPath } from "../../../src/formats/keras/object-paths.js";
import { runCli } from "../../helpers/cli.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";

// Keras saves a model's layer list as `layers/<snake_case class>`, `_1`, `_2` ... per class, in list
// order, whatever the layers are called (keras/src/saving/saving_lib.py, _save_container_state).

const dense = (name: string) => ({ class_name: "Dense", config: { name, units: 2 } });

describe("config layers by the object path Keras saved them under", () => {
  it("counts per class in list order, not by layer name, and descends into nested models", () => {
    const config = {
      class_name: "Sequential",
      config: {
        name: "outer",
        layers: [
          { class_name: "InputLayer", config: { name: "in", batch_shape: [null, 3] } },
          dense("hidden"),
          { class_name: "Dropout", config: { name: "drop", rate: 0.5 } },
          dense("dense_7"),
          { class_name: "Sequential", config: { name: "head", layers: [dense("logits"), { class_name: "BatchNormalization", config: { name: "bn" } }] } },
          { class_name: "Conv2DTranspose", config: { name: "up", filters: 1, kernel_size: [1, 1] } },
        ],
      },
    };
    const byPath = layersByObjectPath(config);
    const names = (paths: string[]) => paths.map((p) => byPath.get(p)?.name);
    expect(names(["layers/dense", "layers/dropout", "layers/dense_1", "layers/sequential", "layers/conv2d_transpose"])).toEqual([
      "hidden",
      "drop",
      "dense_7",
      "head",
      "up",
    ]);
    expect(names(["layers/sequential/layers/dense", "layers/sequential/layers/batch_normalization"])).toEqual(["logits", "bn"]);
    // tf.keras 2.13 saved the same list as `_layer_checkpoint_dependencies`.
    expect(byPath.get("_layer_checkpoint_dependencies/dense_1")?.name).toBe("dense_7");
    expect(byPath.has("layers/dense_2")).toBe(false);
  });

  it("a sub-object's variables belong to the layer above them (an LSTM's cell, a Bidirectional's forward layer)", () => {
    expect(owningLayerPath("layers/lstm/cell")).toBe("layers/lstm");
    expect(owningLayerPath("layers/bidirectional/forward_layer/cell")).toBe("layers/bidirectional");
    expect(owningLayerPath("layers/functional/layers/dense")).toBe("layers/functional/layers/dense");
    expect(owningLayerPath("layers/dense")).toBe("layers/dense");
    expect(owningLayerPath("optimizer")).toBe("optimizer");
  });

  it.skipIf(!hasPythonModules("torch"))(
    "keras2torch names a tf.keras 2.13 .keras's tensors after its layers, not `_layer_checkpoint_dependencies`",
    () => {
      const out = join(mkdtempSync(join(tmpdir(), "wb-keras-paths-")), "m.pth");
      const result = runCli(["convert", "fixtures/keras/tfkeras213.keras", out, "--map", "keras2torch"]);
      expect(result.code, result.stderr).toBe(0);
      const keys = runPython("import sys, json, torch\nprint(json.dumps(list(torch.load(sys.argv[1], weights_only=True).keys())))", [out]);
      expect(JSON.parse(keys)).toEqual(["conv2d.weight", "conv2d.bias", "dense.weight", "dense.bias"]);
    },
    120_000,
  );
});
