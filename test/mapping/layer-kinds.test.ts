import { describe, expect, it } from "vitest";
import { LAYER_KINDS, isLayerKind } from "../../src/tensor/layer-kinds.js";
import { KERAS_LAYER_KINDS } from "../../src/keras/layer-kinds.js";
import { knownKinds, normalizeKind } from "../../src/mapping/kinds.js";
import { parseLayerOverride } from "../../src/mapping/layer-overrides.js";
import { layerHint } from "../../src/formats/pytorch/layers.js";
import { hintFor, kindFromSnakeName } from "../../src/formats/keras/layer-hints.js";
import { kindFromFrameworkName } from "../../src/formats/paddle/framework-names.js";
import { layerHints } from "../../src/formats/onnx/layers.js";
import type { NodeProto } from "../../src/formats/onnx/schema.js";
import { inferByHeuristics } from "../../src/mapping/heuristics.js";
import { t } from "./helpers.js";

describe("one layer-kind vocabulary (tensor/layer-kinds.ts)", () => {
  it("is what --layer and rule files may name", () => {
    expect(knownKinds()).toEqual([...LAYER_KINDS].sort());
  });

  it("passes every canonical kind through mapping's normalization unchanged (a reader's kind needs no alias)", () => {
    for (const kind of LAYER_KINDS) expect(normalizeKind(kind, kind === "conv" || kind === "conv_transpose" ? undefined : 4)).toBe(kind);
  });

  it("is what the readers put on their hints: attention is 'mha' from torch and Keras alike", () => {
    expect(layerHint("torch.nn.modules.activation", "MultiheadAttention", "attn", {})?.kind).toBe("mha");
    expect(hintFor({ className: "MultiHeadAttention", config: {} }, "attn").kind).toBe("mha");
    expect(kindFromSnakeName("multi_head_attention_2")).toBe("mha");
    expect(layerHint("torch.nn.modules.rnn", "LSTMCell", "cell", {})?.kind).toBe("lstm");
    expect(layerHint("torch.nn.modules.conv", "Conv2d", "dw", { groups: 8, in_channels: 8 })?.kind).toBe("depthwise_conv2d");
    expect(kindFromFrameworkName("conv2d_transpose_0.w_0")).toBe("conv_transpose2d");
    expect(kindFromFrameworkName("conv3d_1.b_0")).toBe("conv3d");
    const conv: NodeProto = { op_type: "Conv", name: "/features/Conv", input: ["x", "w", "b"], output: ["y"], attribute: [] };
    const hints = layerHints(
      [conv],
      new Map([
        ["w", [4, 3, 3, 3, 3]],
        ["b", [4]],
      ]),
    );
    expect(hints.get("w")?.kind).toBe("conv3d");
    for (const kind of Object.values(KERAS_LAYER_KINDS)) expect(isLayerKind(kind)).toBe(true);
  });

  it("still accepts the aliases users could write in --layer", () => {
    expect(parseLayerOverride("attn=multihead_attention").kind).toBe("mha");
    expect(parseLayerOverride("attn=MultiHeadAttention").kind).toBe("mha");
    expect(parseLayerOverride("fc=Dense").kind).toBe("linear");
    expect(parseLayerOverride("bn=BatchNorm2d").kind).toBe("batchnorm");
    expect(() => parseLayerOverride("x=blorp")).toThrow(/unknown layer kind 'blorp'/);
  });

  it("guesses a weights-only Keras MultiHeadAttention from its four EinsumDense sublayers, not four Conv1Ds", () => {
    const parts = (prefix: string) => [
      ...["query", "key", "value"].flatMap((p) => [t(`${prefix}/${p}/kernel:0`, [8, 2, 4]), t(`${prefix}/${p}/bias:0`, [2, 4])]),
      t(`${prefix}/attention_output/kernel:0`, [2, 4, 8]),
      t(`${prefix}/attention_output/bias:0`, [8]),
    ];
    const kinds = inferByHeuristics([...parts("block/attn"), t("conv/kernel:0", [3, 4, 5]), t("lone/query/kernel:0", [3, 4, 5])], "keras");
    for (const name of parts("block/attn").map((x) => x.name)) expect(kinds.get(name)?.kind, name).toBe("mha");
    expect(kinds.get("block/attn/attention_output/kernel:0")?.heuristic).toMatch(/query\/key\/value\/attention_output sublayers/);
    // A 3-D kernel outside such a group is still a Conv1D, even when its layer is named query.
    expect(kinds.get("conv/kernel:0")?.kind).toBe("conv1d");
    expect(kinds.get("lone/query/kernel:0")?.kind).toBe("conv1d");
  });
});
