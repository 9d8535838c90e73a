import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import type { Checkpoint, JsonObject } from "../../src/tensor/checkpoint.js";
import { byName, referencePermute, t } from "./helpers.js";

const scalar = (name: string, v: number) => makeTensor(name, "float32", [], bytesData(new Uint8Array(new Float32Array([v]).buffer)));

/** A torch training checkpoint as our reader flattens it: Linear + BatchNorm, Adam state per parameter. */
function training(optimizer: "adam" | "sgd", groups: JsonObject[] = [{ params: [0, 1, 2, 3], betas: [0.8, 0.99] }]): Checkpoint {
  const model = [
    t("model_state_dict.fc.weight", [3, 4]),
    t("model_state_dict.fc.bias", [3]),
    t("model_state_dict.bn.weight", [3]),
    t("model_state_dict.bn.bias", [3]),
    t("model_state_dict.bn.running_mean", [3]),
    t("model_state_dict.bn.running_var", [3]),
    t("model_state_dict.bn.num_batches_tracked", [], "int64"),
  ];
  const shapes = [[3, 4], [3], [3], [3]];
  const state = shapes.flatMap((shape, i) =>
    optimizer === "adam"
      ? [
          scalar(`optimizer_state_dict.state.${i}.step`, 5),
          t(`optimizer_state_dict.state.${i}.exp_avg`, shape),
          t(`optimizer_state_dict.state.${i}.exp_avg_sq`, shape),
        ]
      : [t(`optimizer_state_dict.state.${i}.momentum_buffer`, shape)],
  );
  return { format: "pytorch", tensors: [...model, ...state], meta: { epoch: 3, optimizer_state_dict: { param_groups: groups } } };
}

const NAME_TABLE = {
  "fc.weight": "linear_0.w_0",
  "fc.bias": "linear_0.b_0",
  "bn.weight": "batch_norm2d_0.w_0",
  "bn.bias": "batch_norm2d_0.b_0",
  "bn._mean": "batch_norm2d_0.w_1",
  "bn._variance": "batch_norm2d_0.w_2",
};

describe("optimizer state: torch training checkpoint → Paddle .pdopt (torch2paddle)", () => {
  it("Adam: moments take their parameter's layout (Linear moments transposed), pows are beta^(step+1), names from the template's name table", async () => {
    const src = training("adam");
    const template: Checkpoint = { format: "paddle", tensors: [], meta: { "StructuredToParameterName@@": NAME_TABLE } };
    const { checkpoint, report } = await mapCheckpoint(src, { map: "torch2paddle", template, part: "optimizer" });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual(
      ["linear_0.w_0", "linear_0.b_0", "batch_norm2d_0.w_0", "batch_norm2d_0.b_0"].flatMap((p) => [
        `${p}_moment1_0`,
        `${p}_moment2_0`,
        `${p}_beta1_pow_acc_0`,
        `${p}_beta2_pow_acc_0`,
      ]),
    );
    const out = await byName(checkpoint);
    const s = await byName(src);
    expect(out.get("linear_0.w_0_moment1_0")!.shape).toEqual([4, 3]);
    expect(out.get("linear_0.w_0_moment1_0")!.bytes).toEqualBytes(referencePermute(s.get("optimizer_state_dict.state.0.exp_avg")!.bytes, [3, 4], 4, [1, 0]));
    expect(out.get("linear_0.w_0_moment2_0")!.bytes).toEqualBytes(referencePermute(s.get("optimizer_state_dict.state.0.exp_avg_sq")!.bytes, [3, 4], 4, [1, 0]));
    expect(out.get("batch_norm2d_0.b_0_moment1_0")!.bytes).toEqualBytes(s.get("optimizer_state_dict.state.3.exp_avg")!.bytes);
    const pow = (name: string) => new Float32Array(out.get(name)!.bytes.slice().buffer)[0];
    expect(out.get("linear_0.b_0_beta1_pow_acc_0")).toMatchObject({ dtype: "float32", shape: [1] });
    expect(pow("linear_0.b_0_beta1_pow_acc_0")).toBe(Math.fround(0.8 ** 6));
    expect(pow("linear_0.b_0_beta2_pow_acc_0")).toBe(Math.fround(0.99 ** 6));
    const r = report.tensors.find((x) => x.target === "linear_0.w_0_moment1_0")!;
    expect(r).toMatchObject({ source: "optimizer_state_dict.state.0.exp_avg", kind: "linear", transforms: ["transpose(1,0)"] });
    expect(r.rules).toEqual(["torch2paddle#linear-weight", "optimizer#exp_avg"]);
    expect(report.optimizer).toEqual({ from: "optimizer_state_dict", parameters: 4, written: true });
    expect(report.dropped).toContain("model_state_dict.fc.weight");
    expect(checkpoint.meta).toEqual({});
  });

  it("SGD momentum: momentum_buffer → velocity; without a template, structured names and a warning", async () => {
    const { checkpoint, report } = await mapCheckpoint(training("sgd", [{ params: [0, 1, 2, 3] }]), { map: "torch2paddle", part: "optimizer" });
    expect(checkpoint.tensors.map((x) => `${x.name}[${x.shape}]`)).toEqual([
      "fc.weight_velocity_0[4,3]",
      "fc.bias_velocity_0[3]",
      "bn.weight_velocity_0[3]",
      "bn.bias_velocity_0[3]",
    ]);
    expect(report.warnings.join("\n")).toMatch(/no --template, so accumulators are named after structured names/);
  });

  it("takes framework names in parameter order from a .pdopt template, checking shapes", async () => {
    const pdopt = (w: number[]): Checkpoint => ({
      format: "paddle",
      meta: {},
      tensors: [
        t("linear_7.w_0_moment1_0", w),
        t("linear_7.w_0_beta1_pow_acc_0", [1]),
        t("linear_7.b_0_moment1_0", [3]),
        t("bn_x.w_0_moment1_0", [3]),
        t("bn_x.b_0_moment1_0", [3]),
      ],
    });
    const { checkpoint } = await mapCheckpoint(training("adam"), { map: "torch2paddle", template: pdopt([4, 3]), part: "optimizer" });
    expect(checkpoint.tensors.filter((x) => x.name.endsWith("_moment1_0")).map((x) => x.name)).toEqual([
      "linear_7.w_0_moment1_0",
      "linear_7.b_0_moment1_0",
      "bn_x.w_0_moment1_0",
      "bn_x.b_0_moment1_0",
    ]);
    await expect(mapCheckpoint(training("adam"), { map: "torch2paddle", template: pdopt([3, 4]), part: "optimizer" })).rejects.toThrow(
      /parameter 0 \(fc.weight\) is \[4,3\] but the template's linear_7.w_0 is \[3,4\]/,
    );
  });

  it("the model part (default) drops the optimizer state with a warning; a param_groups/model disagreement is one clear error", async () => {
    const { checkpoint, report } = await mapCheckpoint(training("adam"), { map: "torch2paddle" });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual(["fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn._mean", "bn._variance"]);
    expect(report.optimizer).toMatchObject({ written: false });
    expect(report.dropped).toContain("optimizer_state_dict.state.0.exp_avg");
    await expect(mapCheckpoint(training("adam", [{ params: [0, 1, 2] }]), { map: "torch2paddle", part: "optimizer" })).rejects.toThrow(
      /param_groups list 3 parameters but model_state_dict has 4/,
    );
  });
});

describe("optimizer state: Paddle .pdopt → torch optimizer state_dict (paddle2torch)", () => {
  /** The model's .pdparams as paddle.save writes it: structured names, Paddle layouts, the name table. */
  const pdparams: Checkpoint = {
    format: "paddle",
    tensors: [
      t("fc.weight", [4, 3], "float32", { kind: "linear", framework: "paddle", path: "fc" }),
      t("fc.bias", [3], "float32", { kind: "linear", framework: "paddle", path: "fc" }),
      ...["weight", "bias", "_mean", "_variance"].map((n) => t(`bn.${n}`, [3], "float32", { kind: "batchnorm", framework: "paddle", path: "bn" })),
    ],
    meta: { "StructuredToParameterName@@": NAME_TABLE },
  };

  it("Adam round trip torch → .pdopt → torch: moments bit-exact in torch's layout, step recovered, param_groups for load_state_dict", async () => {
    const src = training("adam", [{ params: [0, 1, 2, 3] }]);
    const there = await mapCheckpoint(src, { map: "torch2paddle", template: pdparams, part: "optimizer" });
    const { checkpoint, report } = await mapCheckpoint(there.checkpoint, { map: "paddle2torch", template: pdparams });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual([0, 1, 2, 3].flatMap((i) => [`state.${i}.step`, `state.${i}.exp_avg`, `state.${i}.exp_avg_sq`]));
    const back = await byName(checkpoint);
    const orig = await byName(src);
    for (const i of [0, 1, 2, 3]) {
      for (const k of ["exp_avg", "exp_avg_sq"])
        expect(back.get(`state.${i}.${k}`)!.bytes).toEqualBytes(orig.get(`optimizer_state_dict.state.${i}.${k}`)!.bytes);
      expect(back.get(`state.${i}.step`)).toMatchObject({ dtype: "float32", shape: [] });
      expect(new Float32Array(back.get(`state.${i}.step`)!.bytes.slice().buffer)[0]).toBe(5);
    }
    expect(back.get("state.0.exp_avg")!.shape).toEqual([3, 4]);
    expect(checkpoint.meta.param_groups).toEqual([
      { lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false, maximize: false, foreach: null, capturable: false, params: [0, 1, 2, 3] },
    ]);
    expect(checkpoint.structure?.type).toBe("dict");
    expect(report.optimizer).toEqual({ from: "Paddle accumulators", parameters: 4, written: true, to: "torch" });
    expect(report.warnings.join("\n")).toMatch(/lr=0.001, betas=\(0.9, 0.999\).*set your own on the optimizer after loading/);
  });

  it("other betas: a clear error naming --adam-betas, and the right step once they are given", async () => {
    const there = await mapCheckpoint(training("adam"), { map: "torch2paddle", template: pdparams, part: "optimizer" });
    const pdopt = there.checkpoint;
    const steps = async (c: Checkpoint) => (await byName(c)).get("state.0.step")!.bytes;
    const wrong = await mapCheckpoint(pdopt, { map: "paddle2torch", template: pdparams });
    await expect(steps(wrong.checkpoint)).rejects.toThrow(/other betas; pass them with --adam-betas/);
    const right = await mapCheckpoint(pdopt, { map: "paddle2torch", template: pdparams, adamBetas: [0.8, 0.99] });
    expect(new Float32Array((await steps(right.checkpoint)).slice().buffer)[0]).toBe(5);
  });

  it("SGD velocity → momentum_buffer; no template is a usage error that says why", async () => {
    const there = await mapCheckpoint(training("sgd", [{ params: [0, 1, 2, 3] }]), { map: "torch2paddle", template: pdparams, part: "optimizer" });
    const { checkpoint } = await mapCheckpoint(there.checkpoint, { map: "paddle2torch", template: pdparams });
    expect(checkpoint.tensors.map((x) => `${x.name}[${x.shape}]`)).toEqual([
      "state.0.momentum_buffer[3,4]",
      "state.1.momentum_buffer[3]",
      "state.2.momentum_buffer[3]",
      "state.3.momentum_buffer[3]",
    ]);
    expect((checkpoint.meta.param_groups as JsonObject[])[0]).toMatchObject({ momentum: 0.9, nesterov: false, params: [0, 1, 2, 3] });
    await expect(mapCheckpoint(there.checkpoint, { map: "paddle2torch" })).rejects.toThrow(/needs the model's .pdparams as --template/);
  });
});
