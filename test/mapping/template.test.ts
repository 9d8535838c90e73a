import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { ckpt, t } from "./helpers.js";

describe("--template matching", () => {
  it("lands a checkpoint on a differently named target: by name, then layer by layer on evidence", async () => {
    // Source: torch names. Target: Keras file with its own layer names (as a Keras reader gives them).
    const source = ckpt([t("features.0.weight", [8, 3, 3, 3]), t("features.0.bias", [8]), t("classifier.weight", [10, 8]), t("classifier.bias", [10])]);
    const template = ckpt([
      t("conv2d/kernel:0", [3, 3, 3, 8], "float32", { kind: "Conv2D" }),
      t("conv2d/bias:0", [8], "float32", { kind: "Conv2D" }),
      t("dense/kernel:0", [8, 10], "float32", { kind: "Dense" }),
      t("dense/bias:0", [10], "float32", { kind: "Dense" }),
    ]);
    const { checkpoint, report } = await mapCheckpoint(source, { map: "torch2keras", template });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual(["conv2d/kernel:0", "conv2d/bias:0", "dense/kernel:0", "dense/bias:0"]);
    expect(report.tensors.map((r) => [r.source, r.target, r.matchedBy])).toEqual([
      ["features.0.weight", "conv2d/kernel:0", "features.0 → conv2d: only conv left with shapes [3,3,3,8], [8]; same parameter name"],
      ["features.0.bias", "conv2d/bias:0", "features.0 → conv2d: only conv left with shapes [3,3,3,8], [8]; same parameter name"],
      ["classifier.weight", "dense/kernel:0", "classifier → dense: only linear left with shapes [10], [8,10]; same parameter name"],
      ["classifier.bias", "dense/bias:0", "classifier → dense: only linear left with shapes [10], [8,10]; same parameter name"],
    ]);
    expect(report.missing).toEqual([]);
    expect(report.unmatched).toEqual([]);
  });

  it("matches by name first, normalises module. and :0, and reports missing, unexpected and mismatched keys", async () => {
    const source = ckpt([t("module.a.weight", [2, 2]), t("b.weight", [3]), t("c.weight", [4]), t("extra", [9])]);
    const template = ckpt([t("a.weight", [2, 2]), t("b.weight", [5]), t("c.weight", [4]), t("gone", [7])]);
    // A shape that differs from the template's is refused with both shapes, unless dropping is allowed.
    await expect(mapCheckpoint(source, { template })).rejects.toThrow(
      "b.weight is [3] but the template's b.weight is [5]: the template is of another model; give a template of the same model, or --allow-drop to leave such tensors out",
    );
    const { checkpoint, report } = await mapCheckpoint(source, { template, allowDrop: true });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual(["a.weight", "c.weight"]);
    expect(report.tensors.map((r) => r.matchedBy)).toEqual(["normalized name", "name"]);
    expect(report.missing).toEqual(["gone"]);
    expect(report.unmatched).toEqual(["extra"]);
    // What has no place in the template is a loss too: named in dropped (--allow-drop) and a warning.
    expect(report.dropped).toEqual(["b.weight", "extra"]);
    expect(report.warnings).toContain("1 tensor(s) have no place in the template and were left out (--allow-drop): extra");
    expect(report.mismatched).toEqual([{ source: "b.weight", target: "b.weight", shape: [3], templateShape: [5] }]);
    await expect(mapCheckpoint(source, { template, strict: true })).rejects.toThrow(
      /--strict: missing keys: gone; unexpected \(unmatched\) keys: extra; size mismatch: b.weight \[3\] vs template \[5\]/,
    );
  });

  it("the input's own graph constants (another export's Reshape shapes, Clip bounds) are left out with a note; its int8 weights are not", async () => {
    const role = (x: ReturnType<typeof t>, r: string) => ({ ...x, role: r });
    const weight = t("fc.weight", [4, 4]);
    const source = ckpt([
      role(weight, "initializer"),
      role(t("onnx::Reshape_9", [2], "int64"), "constant"),
      role(t("/clip/Constant_output_0", [], "float32"), "constant"),
    ]);
    const template = ckpt([role(t("fc.weight", [4, 4]), "initializer"), role(t("onnx::Reshape_7", [2], "int64"), "constant")]);
    const { report } = await mapCheckpoint(source, { template });
    expect(report.dropped).toEqual(["onnx::Reshape_9", "/clip/Constant_output_0"]);
    expect(report.warnings.join("\n")).toContain("not model weights (graph constants of the input's graph): onnx::Reshape_9, /clip/Constant_output_0");
    // A quantized weight is integer too, but no graph constant: a loss, refused.
    const quantized = ckpt([role(weight, "initializer"), role(t("fc.weight_quantized", [4, 4], "int8"), "initializer")]);
    await expect(mapCheckpoint(quantized, { template })).rejects.toThrow(/no place in the template and would be lost: fc\.weight_quantized/);
  });

  it("a layer's only possible partner (by shapes and kind) decides; kinds are kept apart", async () => {
    const source = ckpt([t("x.w", [4, 4]), t("y.emb", [4, 4], "float32", { kind: "embedding" })]);
    const template = ckpt([t("emb/embeddings:0", [4, 4], "float32", { kind: "Embedding" }), t("d/kernel:0", [4, 4], "float32", { kind: "Dense" })]);
    const { report } = await mapCheckpoint(source, { template });
    expect(report.tensors.map((r) => [r.source, r.target])).toEqual([
      ["y.emb", "emb/embeddings:0"],
      ["x.w", "d/kernel:0"],
    ]);
  });
});
