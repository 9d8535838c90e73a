import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { presetRuleSet } from "../../src/mapping/presets.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import { ckpt, t } from "./helpers.js";

const scalar = (name: string, v: number) => makeTensor(name, "float32", [], bytesData(new Uint8Array(new Float32Array([v]).buffer)));

function training(): Checkpoint {
  return {
    format: "pytorch",
    tensors: [
      t("model_state_dict.fc.weight", [3, 4]),
      t("model_state_dict.fc.bias", [3]),
      scalar("optimizer_state_dict.state.0.step", 2),
      t("optimizer_state_dict.state.0.exp_avg", [3, 4]),
      t("optimizer_state_dict.state.0.exp_avg_sq", [3, 4]),
      scalar("optimizer_state_dict.state.1.step", 2),
      t("optimizer_state_dict.state.1.exp_avg", [3]),
      t("optimizer_state_dict.state.1.exp_avg_sq", [3]),
    ],
    meta: { optimizer_state_dict: { param_groups: [{ params: [0, 1], betas: [0.9, 0.999] }] } },
  };
}

function ruleFile(set: object): string {
  const path = join(mkdtempSync(join(tmpdir(), "wb-pipeline-")), "rules.json");
  writeFileSync(path, JSON.stringify(set));
  return path;
}

describe("optimizer passes are declared by the rule set", () => {
  it("a user's rule file that declares torch-to-paddle converts the optimizer state like the preset", async () => {
    const own = ruleFile({ ...presetRuleSet("torch2paddle")!, $schema: undefined, name: "mine" });
    const preset = await mapCheckpoint(training(), { map: "torch2paddle", part: "optimizer" });
    const mine = await mapCheckpoint(training(), { map: own, part: "optimizer" });
    expect(mine.report.optimizer).toEqual({ from: "optimizer_state_dict", parameters: 2, written: true });
    expect(mine.checkpoint.tensors.map((x) => `${x.name}[${x.shape}]`)).toEqual(preset.checkpoint.tensors.map((x) => `${x.name}[${x.shape}]`));
    expect(mine.report.tensors.find((r) => r.target === "fc.weight_moment1_0")!.rules).toEqual(["mine#linear-weight", "optimizer#exp_avg"]);
  });

  it("a rule file named like the preset but not declaring a pass leaves optimizer state to the rules", async () => {
    const { optimizer: _pass, ...rest } = presetRuleSet("torch2paddle")!;
    const own = ruleFile({ ...rest, $schema: undefined });
    const { report } = await mapCheckpoint(training(), { map: own, part: "optimizer" });
    expect(report.optimizer).toBeUndefined();
    // Without the pass the rules have no place for it: optimizer state is dropped, and said.
    expect(report.dropped).toContain("optimizer_state_dict.state.0.exp_avg");
    expect(report.warnings.join("\n")).toMatch(/not model weights \(optimizer state\)/);
  });

  it("the presets declare their passes in their JSON", () => {
    expect(presetRuleSet("torch2paddle")!.optimizer).toBe("torch-to-paddle");
    expect(presetRuleSet("paddle2torch")!.optimizer).toBe("paddle-to-torch");
    expect(presetRuleSet("keras2torch")!.optimizer).toBe("keras-to-torch");
    expect(presetRuleSet("torch2keras")!.optimizer).toBeUndefined();
  });

  it("an unknown pass is refused by the schema", async () => {
    const own = ruleFile({ optimizer: "onnx-to-torch", rules: [] });
    await expect(mapCheckpoint(training(), { map: own })).rejects.toThrow(/not a valid rule file/);
  });
});

describe("--dtype is a mapping step", () => {
  it("casts floating tensors after the rules, recording the cast in each tensor's transforms and target dtype", async () => {
    const src = ckpt([t("fc.weight", [3, 4]), t("fc.bias", [3]), t("bn.num_batches_tracked", [], "int64")]);
    const { checkpoint, report } = await mapCheckpoint(src, { map: "torch2keras", dtype: "float16" });
    expect(checkpoint.tensors.map((x) => `${x.name}:${x.dtype}`)).toEqual(["fc/kernel:0:float16", "fc/bias:0:float16"]);
    expect(report.tensors[0]).toMatchObject({
      source: "fc.weight",
      dtype: "float32",
      targetDtype: "float16",
      transforms: ["transpose(1,0)", "cast(float32→float16)"],
    });
    expect(report.dropped).toEqual(["bn.num_batches_tracked"]);
  });

  it("leaves integer tensors and tensors already of the dtype alone", async () => {
    const src = ckpt([t("a", [2], "float16"), t("b", [2], "int64")]);
    const { checkpoint, report } = await mapCheckpoint(src, { dtype: "float16" });
    expect(checkpoint.tensors.map((x) => x.dtype)).toEqual(["float16", "int64"]);
    expect(report.tensors.map((r) => r.transforms)).toEqual([[], []]);
  });
});
