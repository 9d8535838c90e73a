import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { ckpt, t } from "./helpers.js";

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
    expect(report.warnings.join("\n")).toContain("BatchNorm ε of bn is not in the source file: torch's default is 0.00001, Keras' 0.001; if the model kept torch's default, build it with epsilon=0.00001");
  });
});
