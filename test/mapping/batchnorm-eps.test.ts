import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { ckpt, t } from "./helpers.js";
import { float32Text } from "../../src/mapping/batchnorm-eps.js";

// BatchNorm ε (issue 15 case 8): checked against a template that holds it, said when the target cannot.
const bn = (prefix: string, attributes: Record<string, unknown>) =>
  ["weight", "bias", "running_mean", "running_var"].map((p) => t(`${prefix}.${p}`, [4], "float32", { kind: "batchnorm", attributes }));

describe("BatchNorm ε", () => {
  it("a template whose ε differs from the source's is refused, naming both", async () => {
    const source = ckpt(bn("bn", { eps: 1e-3 }));
    const template = ckpt(bn("bn", { epsilon: 1e-5 }));
    await expect(mapCheckpoint(source, { template })).rejects.toThrow(/BatchNorm ε differs: source bn has ε=0.001, the template's bn ε=0.00001/);
    const same = ckpt(bn("bn", { epsilon: 1e-3 }));
    expect((await mapCheckpoint(source, { template: same })).report.warnings.join("\n")).not.toMatch(/ε/);
  });

  it("torch → Keras from a bare state_dict: ε unknown, the summary says torch's default and Keras' epsilon argument", async () => {
    const source = ckpt([t("conv.weight", [4, 3, 3, 3]), ...bn("bn", {})].map((x) => (x.name.startsWith("bn") ? { ...x, layer: undefined } : x)));
    const { report } = await mapCheckpoint(source, { map: "torch2keras" });
    expect(report.warnings.join("\n")).toContain(
      "BatchNorm ε of bn is not in the source file: torch's default is 0.00001, Keras' 0.001; if the model kept torch's default, build it with epsilon=0.00001",
    );
  });

  it("compares and shows ε at float32 precision: 1e-5 stored as float32 is torch's default", async () => {
    expect(float32Text(Math.fround(1e-5))).toBe("0.00001");
    expect(float32Text(Math.fround(1.001e-3))).toBe("0.001001");
    const fromOnnx = ckpt(bn("bn", { epsilon: Math.fround(1e-5) }));
    const { report } = await mapCheckpoint(fromOnnx, { map: "onnx2torch" });
    expect(report.warnings.join("\n")).not.toMatch(/ε/);
    const other = ckpt(bn("bn", { epsilon: Math.fround(1e-3) }));
    const warned = (await mapCheckpoint(other, { map: "onnx2torch" })).report.warnings.join("\n");
    expect(warned).toContain("BatchNorm ε: bn use ε=0.001, torch's default is 0.00001: build it with eps=0.001");
    expect(warned).not.toMatch(/0\.0010000000474974513/);
  });
});

describe("LayerNorm ε, said like BatchNorm's", () => {
  const ln = (prefix: string, attributes: Record<string, unknown>) =>
    ["weight", "bias"].map((p) => t(`${prefix}.${p}`, [8], "float32", { kind: "layernorm", attributes }));

  it("a Keras LayerNormalization's 1e-3 is named for torch, whose default is 1e-5", async () => {
    const keras = ["gamma", "beta"].map((p) => t(`ln/${p}:0`, [8], "float32", { kind: "layernorm", attributes: { epsilon: Math.fround(1e-3) } }));
    const { report } = await mapCheckpoint(ckpt(keras), { map: "keras2torch" });
    expect(report.warnings.join("\n")).toMatch(/LayerNorm ε: \S+ use ε=0\.001, torch's default is 0\.00001: build it with eps=0\.001/);
  });

  it("a template whose LayerNorm ε differs is refused", async () => {
    await expect(mapCheckpoint(ckpt(ln("ln", { eps: 1e-3 })), { template: ckpt(ln("ln", { epsilon: 1e-6 })) })).rejects.toThrow(
      /LayerNorm ε differs: source ln has ε=0.001, the template's ln ε=0.000001/,
    );
  });
});
