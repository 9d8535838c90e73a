import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { read } from "../../src/index.js";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { byName, ckpt, referencePermute, t } from "../mapping/helpers.js";
import { fixture } from "../helpers/fixtures.js";

// Keras 3 names weights by object path (`layers/dense/vars/0`); keras2torch must understand them
// the way it understands Keras 2 names. Files: one written by real Keras 3 (a nested model), one
// in Keras 3's layout by the fixture generator (Dense, BatchNormalization, LSTM, optimizer).
const KERAS = fixture("keras");
const REAL = fixture("keras", "real");

describe("keras2torch on Keras 3 files", () => {
  it("Dense, BatchNormalization and LSTM vars get torch names and layouts; optimizer state is dropped", async () => {
    const source = await read(join(KERAS, "keras3.weights.h5"));
    const { checkpoint, report } = await mapCheckpoint(source, { map: "keras2torch" });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual([
      "bn.weight",
      "bn.bias",
      "bn.running_mean",
      "bn.running_var",
      "bn.num_batches_tracked",
      "encoder.weight",
      "encoder.bias",
      "logits.weight",
      "logits.bias",
      "lstm.weight_ih_l0",
      "lstm.weight_hh_l0",
      "lstm.bias_ih_l0",
      "lstm.bias_hh_l0",
    ]);
    const out = await byName(checkpoint);
    const src = await byName(source);
    expect(out.get("encoder.weight")!.bytes).toEqualBytes(referencePermute(src.get("layers/dense/vars/0")!.bytes, [4, 3], 4, [1, 0]));
    expect(report.tensors.find((x) => x.target === "encoder.weight")!.source).toBe("layers/dense/vars/0");
    expect(report.dropped).toEqual(["optimizer/vars/0", "optimizer/vars/1"]);
    await source.close();
  });

  it("a .keras written by real Keras 3: layer names from the file's name attributes", async () => {
    const source = await read(join(REAL, "nested_container.keras"));
    const { checkpoint, report } = await mapCheckpoint(source, { map: "keras2torch", strict: true });
    expect(checkpoint.tensors.map((x) => `${x.name} [${x.shape}]`)).toEqual([
      "d_0.weight [4,4]",
      "d_1.weight [4,4]",
      "d_2.weight [4,4]",
      "dense.weight [2,4]",
      "dense.bias [2]",
    ]);
    expect(report.unmatched).toEqual([]);
    await source.close();
  });

  it("normalization layers with scale or center off (their config says so) skip gamma or beta", async () => {
    const bn = { kind: "batchnorm", framework: "keras", path: "bn", attributes: { scale: false, center: true } };
    const source = ckpt([0, 1, 2].map((i) => ({ ...t(`layers/batch_normalization/vars/${i}`, [3]), layer: bn })));
    const { checkpoint } = await mapCheckpoint(source, { map: "keras2torch" });
    expect(checkpoint.tensors.map((x) => x.name)).toEqual(["bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]);
  });

  it("without a config, kinds come from Keras 3's class-based object names; unknown kinds are refused, or kept with --keep-unmapped and a warning", async () => {
    const source = ckpt(
      [
        t("layers/conv2d_1/vars/0", [3, 3, 2, 4]),
        t("layers/conv2d_1/vars/1", [4]),
        t("layers/embedding/vars/0", [10, 4]),
        t("layers/multi_head_attention/query_dense/vars/0", [4, 2, 2]),
        t("layers/multi_head_attention/query_dense/vars/1", [2, 2]),
        t("layers/multi_head_attention/key_dense/vars/0", [4, 2, 2]),
        t("layers/multi_head_attention/key_dense/vars/1", [2, 2]),
        t("layers/multi_head_attention/value_dense/vars/0", [4, 2, 2]),
        t("layers/multi_head_attention/value_dense/vars/1", [2, 2]),
        t("layers/multi_head_attention/output_dense/vars/0", [2, 2, 4]),
        t("layers/multi_head_attention/output_dense/vars/1", [4]),
        t("layers/my_custom/vars/0", [3]),
      ],
      "keras",
    );
    // Written under its object path torch would not load it: refused unless kept on purpose (issue 15).
    await expect(mapCheckpoint(source, { map: "keras2torch" })).rejects.toThrow(/no rule of keras2torch places: layers\/my_custom\/vars\/0; .*--keep-unmapped/);
    const { checkpoint, report } = await mapCheckpoint(source, { map: "keras2torch", keepUnmapped: true });
    expect(checkpoint.tensors.map((x) => `${x.name} [${x.shape}]`)).toEqual([
      "conv2d_1.weight [4,2,3,3]",
      "conv2d_1.bias [4]",
      "embedding.weight [10,4]",
      "multi_head_attention.in_proj_weight [12,4]",
      "multi_head_attention.in_proj_bias [12]",
      "multi_head_attention.out_proj.weight [4,4]",
      "multi_head_attention.out_proj.bias [4]",
      "layers/my_custom/vars/0 [3]",
    ]);
    expect(report.warnings.join("\n")).toMatch(/1 Keras 3 variable\(s\) of an unknown layer kind kept their object-path names: layers\/my_custom\/vars\/0/);
  });
});
