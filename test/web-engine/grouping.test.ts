import { describe, expect, it } from "vitest";
import { groupModels } from "../../src/web/engine/grouping.js";
import { joinInside } from "../../src/web/engine/file-set.js";

const labels = (paths: string[]) => groupModels(paths).map((g) => [g.label, g.main, g.files.length]);

describe("the page's grouping of given files into models", () => {
  it("puts a .pdiparams (and its .info) with its .pdmodel", () => {
    expect(labels(["m/inference.pdiparams", "m/inference.pdmodel", "m/inference.pdiparams.info"])).toEqual([["inference.pdmodel", "m/inference.pdmodel", 3]]);
  });

  it("keeps a lone .pdiparams and other models as models of their own", () => {
    expect(labels(["a.pdiparams", "b.pth", "c.safetensors"])).toEqual([
      ["a.pdiparams", "a.pdiparams", 1],
      ["b.pth", "b.pth", 1],
      ["c.safetensors", "c.safetensors", 1],
    ]);
  });

  it("knows every format's files as models, given alone or together (a .gguf or .tflite beside an .h5)", () => {
    expect(labels(["w.h5", "llama.gguf", "m.tflite"])).toEqual([
      ["w.h5", "w.h5", 1],
      ["llama.gguf", "llama.gguf", 1],
      ["m.tflite", "m.tflite", 1],
    ]);
  });

  it("puts ONNX external data with its model", () => {
    expect(labels(["x/model.onnx", "x/model.onnx.data", "x/README.md"])).toEqual([["model.onnx", "x/model.onnx", 2]]);
  });

  it("makes a SavedModel folder one model named after the folder", () => {
    const groups = groupModels(["sm/saved_model.pb", "sm/variables/variables.index", "sm/variables/variables.data-00000-of-00001", "sm/keras_metadata.pb"]);
    expect(groups).toEqual([
      {
        label: "sm",
        main: "sm/saved_model.pb",
        files: ["sm/saved_model.pb", "sm/variables/variables.index", "sm/variables/variables.data-00000-of-00001", "sm/keras_metadata.pb"],
      },
    ]);
  });

  it("puts shards with their index and TF data shards with their .index", () => {
    expect(labels(["model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])).toEqual([
      ["model.safetensors.index.json", "model.safetensors.index.json", 3],
    ]);
    expect(labels(["c/model.ckpt-3000.index", "c/model.ckpt-3000.data-00000-of-00002", "c/model.ckpt-3000.data-00001-of-00002", "c/checkpoint"])).toEqual([
      ["model.ckpt-3000.index", "c/model.ckpt-3000.index", 4],
    ]);
  });

  it("gives a lone file of no known kind a try, and skips notes", () => {
    expect(labels(["weights", "notes.md"])).toEqual([["weights", "weights", 1]]);
  });

  it("resolves a model's references inside the given files only", () => {
    expect(joinInside("m", "variables/variables.index")).toBe("m/variables/variables.index");
    expect(joinInside("m/variables", "../saved_model.pb")).toBe("m/saved_model.pb");
    expect(joinInside("", "../etc/passwd")).toBeUndefined();
  });
});
