import { describe, expect, it } from "vitest";
import { mapCheckpoint, presetNames, validateRuleSet } from "../../src/mapping/index.js";
import { presetRuleSet } from "../../src/mapping/presets.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { byName, ckpt, floats, referencePermute, t } from "./helpers.js";

/** A PyTorch state_dict with every covered layer kind, real names and shapes, no hints except where torch needs them. */
function torchModel(): Checkpoint {
  return ckpt([
    t("features.0.weight", [8, 3, 3, 3]),
    t("features.0.bias", [8]),
    t("features.1.weight", [8]),
    t("features.1.bias", [8]),
    t("features.1.running_mean", [8]),
    t("features.1.running_var", [8]),
    makeTensor("features.1.num_batches_tracked", "int64", [], bytesData(new Uint8Array(8))),
    t("dw.weight", [6, 1, 3, 3], "float32", { kind: "conv2d", className: "Conv2d", attributes: { groups: 3 } }),
    t("dw.bias", [6], "float32", { kind: "conv2d", attributes: { groups: 3 } }),
    t("sep.depthwise.weight", [3, 1, 3, 3]),
    t("sep.pointwise.weight", [5, 3, 1, 1]),
    t("sep.pointwise.bias", [5]),
    t("deconv.weight", [8, 4, 3, 3], "float32", { kind: "conv_transpose2d" }),
    t("deconv.bias", [4], "float32", { kind: "conv_transpose2d" }),
    t("conv1.weight", [4, 2, 5]),
    t("conv1.bias", [4]),
    t("conv3.weight", [2, 3, 1, 2, 2]),
    t("conv3.bias", [2]),
    t("emb.weight", [10, 6]),
    t("ln.weight", [6]),
    t("ln.bias", [6]),
    t("lstm.weight_ih_l0", [16, 6]),
    t("lstm.weight_hh_l0", [16, 4]),
    t("lstm.bias_ih_l0", [16]),
    t("lstm.bias_hh_l0", [16]),
    t("lstm.weight_ih_l1", [16, 4]),
    t("lstm.weight_hh_l1", [16, 4]),
    t("lstm.bias_ih_l1", [16]),
    t("lstm.bias_hh_l1", [16]),
    t("bilstm.weight_ih_l0", [8, 6]),
    t("bilstm.weight_hh_l0", [8, 2]),
    t("bilstm.bias_ih_l0", [8]),
    t("bilstm.bias_hh_l0", [8]),
    t("bilstm.weight_ih_l0_reverse", [8, 6]),
    t("bilstm.weight_hh_l0_reverse", [8, 2]),
    t("bilstm.bias_ih_l0_reverse", [8]),
    t("bilstm.bias_hh_l0_reverse", [8]),
    t("gru.weight_ih_l0", [12, 6]),
    t("gru.weight_hh_l0", [12, 4]),
    t("gru.bias_ih_l0", [12]),
    t("gru.bias_hh_l0", [12]),
    t("fc.weight", [3, 6]),
    t("fc.bias", [3]),
  ]);
}

/** What a file round trip does to tensors: hints do not survive a format that has none. */
function reread(c: Checkpoint): Checkpoint {
  return { ...c, tensors: c.tensors.map(({ layer: _layer, ...rest }) => rest as Tensor) };
}

const LSTM_BIAS = /^(bi)?lstm\.bias_(ih|hh)_l\d(_reverse)?$/;

describe("presets", () => {
  it("all validate against the schema", () => {
    expect(presetNames()).toEqual([
      "gguf2hf",
      "hf2gguf",
      "keras2paddle",
      "keras2tflite",
      "keras2torch",
      "onnx2torch",
      "paddle2keras",
      "paddle2torch",
      "tflite2keras",
      "tflite2torch",
      "torch2keras",
      "torch2paddle",
      "torch2tflite",
    ]);
    for (const name of [
      "torch2keras",
      "keras2torch",
      "torch2paddle",
      "paddle2torch",
      "onnx2torch",
      "tflite2torch",
      "tflite2keras",
      "torch2tflite",
      "keras2tflite",
    ]) {
      expect(() => validateRuleSet(presetRuleSet(name), name)).not.toThrow();
    }
  });

  it("torch2keras: Keras names and layouts for every layer kind", async () => {
    const source = torchModel();
    const { checkpoint, report } = await mapCheckpoint(source, { map: "torch2keras" });
    const out = await byName(checkpoint);
    const src = await byName(source);
    expect(report.unmatched).toEqual([]);
    expect(report.dropped).toEqual(["features.1.num_batches_tracked"]);
    expect([...out.keys()]).toEqual([
      "features.0/kernel:0",
      "features.0/bias:0",
      "features.1/gamma:0",
      "features.1/beta:0",
      "features.1/moving_mean:0",
      "features.1/moving_variance:0",
      "dw/depthwise_kernel:0",
      "dw/bias:0",
      "sep/depthwise_kernel:0",
      "sep/pointwise_kernel:0",
      "sep/bias:0",
      "deconv/kernel:0",
      "deconv/bias:0",
      "conv1/kernel:0",
      "conv1/bias:0",
      "conv3/kernel:0",
      "conv3/bias:0",
      "emb/embeddings:0",
      "ln/gamma:0",
      "ln/beta:0",
      "lstm/kernel:0",
      "lstm/recurrent_kernel:0",
      "lstm/bias:0",
      "lstm_l1/kernel:0",
      "lstm_l1/recurrent_kernel:0",
      "lstm_l1/bias:0",
      "bilstm/forward/kernel:0",
      "bilstm/forward/recurrent_kernel:0",
      "bilstm/forward/bias:0",
      "bilstm/backward/kernel:0",
      "bilstm/backward/recurrent_kernel:0",
      "bilstm/backward/bias:0",
      "gru/kernel:0",
      "gru/recurrent_kernel:0",
      "gru/bias:0",
      "fc/kernel:0",
      "fc/bias:0",
    ]);
    const perm = (name: string, p: number[]) => referencePermute(src.get(name)!.bytes, src.get(name)!.shape, 4, p);
    expect(out.get("features.0/kernel:0")!.shape).toEqual([3, 3, 3, 8]);
    expect(out.get("features.0/kernel:0")!.bytes).toEqualBytes(perm("features.0.weight", [2, 3, 1, 0]));
    expect(out.get("fc/kernel:0")!.bytes).toEqualBytes(perm("fc.weight", [1, 0]));
    expect(out.get("conv1/kernel:0")!.bytes).toEqualBytes(perm("conv1.weight", [2, 1, 0]));
    expect(out.get("conv3/kernel:0")!.bytes).toEqualBytes(perm("conv3.weight", [2, 3, 4, 1, 0]));
    expect(out.get("deconv/kernel:0")!.shape).toEqual([3, 3, 4, 8]); // Keras [kh,kw,out,in]
    expect(out.get("emb/embeddings:0")!.bytes).toEqualBytes(src.get("emb.weight")!.bytes); // never transposed
    // depthwise: torch [in·mult,1,kh,kw] → Keras [kh,kw,in,mult], channel c·mult+m in both
    expect(out.get("dw/depthwise_kernel:0")!.shape).toEqual([3, 3, 3, 2]);
    const dw = floats(src.get("dw.weight")!.bytes);
    const kdw = floats(out.get("dw/depthwise_kernel:0")!.bytes);
    for (let c = 0; c < 3; c++)
      for (let m = 0; m < 2; m++)
        for (let h = 0; h < 3; h++)
          for (let w = 0; w < 3; w++) {
            expect(kdw[((h * 3 + w) * 3 + c) * 2 + m]).toBe(dw[(c * 2 + m) * 9 + h * 3 + w]);
          }
    expect(out.get("sep/pointwise_kernel:0")!.shape).toEqual([1, 1, 3, 5]);
    // LSTM: same gate order, biases summed
    const [bih, bhh, b] = [floats(src.get("lstm.bias_ih_l0")!.bytes), floats(src.get("lstm.bias_hh_l0")!.bytes), floats(out.get("lstm/bias:0")!.bytes)];
    expect(b).toEqual(bih.map((v, i) => Math.fround(v + bhh[i]!)));
    // GRU: r,z,n → z,r,h in kernels and both bias rows
    const u = 4;
    const wih = floats(src.get("gru.weight_ih_l0")!.bytes); // [3u, 6]
    const k = floats(out.get("gru/kernel:0")!.bytes); // [6, 3u]
    const gate = (g: number) => (g === 0 ? 1 : g === 1 ? 0 : 2); // keras gate g comes from torch gate
    for (let i = 0; i < 6; i++)
      for (let g = 0; g < 3; g++)
        for (let j = 0; j < u; j++) {
          expect(k[i * 3 * u + g * u + j]).toBe(wih[(gate(g) * u + j) * 6 + i]);
        }
    const gb = floats(out.get("gru/bias:0")!.bytes);
    expect(out.get("gru/bias:0")!.shape).toEqual([2, 12]);
    const [gih, ghh] = [floats(src.get("gru.bias_ih_l0")!.bytes), floats(src.get("gru.bias_hh_l0")!.bytes)];
    expect(gb.slice(0, 4)).toEqual(gih.slice(4, 8));
    expect(gb.slice(12 + 4, 12 + 8)).toEqual(ghh.slice(0, 4));
    // the report says how kinds were decided
    const fc = report.tensors.find((r) => r.target === "fc/kernel:0")!;
    expect(fc).toMatchObject({ source: "fc.weight", kind: "linear", kindEvidence: "heuristic", targetShape: [6, 3], transforms: ["transpose(1,0)"] });
    expect(fc.heuristics![0]).toMatch(/2-D weight \+ bias of its first dim ⇒ linear/);
    expect(report.tensors.find((r) => r.target === "dw/depthwise_kernel:0")).toMatchObject({ kind: "depthwise_conv2d", kindEvidence: "hint" });
    expect(report.tensors.find((r) => r.target === "lstm/bias:0")!.sources).toEqual(["lstm.bias_ih_l0", "lstm.bias_hh_l0"]);
  });

  it("torch → keras → torch is bit-exact (LSTM biases exact as a sum)", async () => {
    const source = torchModel();
    const keras = (await mapCheckpoint(source, { map: "torch2keras" })).checkpoint;
    const { checkpoint: back, report } = await mapCheckpoint(reread(keras), { map: "keras2torch" });
    expect(report.unmatched).toEqual([]);
    const a = await byName(source);
    const b = await byName(back);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, x] of a) {
      const y = b.get(name)!;
      expect([name, y.dtype, y.shape]).toEqual([name, x.dtype, x.shape]);
      if (LSTM_BIAS.test(name)) continue;
      expect(y.bytes, name).toEqualBytes(x.bytes);
    }
    for (const prefix of ["lstm.bias_%_l0", "lstm.bias_%_l1", "bilstm.bias_%_l0", "bilstm.bias_%_l0_reverse"]) {
      const [ih, hh] = [floats(a.get(prefix.replace("%", "ih"))!.bytes), floats(a.get(prefix.replace("%", "hh"))!.bytes)];
      expect(floats(b.get(prefix.replace("%", "ih"))!.bytes)).toEqual(ih.map((v, i) => Math.fround(v + hh[i]!)));
      expect(floats(b.get(prefix.replace("%", "hh"))!.bytes).every((v) => v === 0)).toBe(true);
    }
    expect(report.added).toEqual(["features.1.num_batches_tracked"]);
  });

  it("torch → paddle → torch is bit-exact, with Paddle's layouts and RNN aliases in between", async () => {
    const source = torchModel();
    const { checkpoint: paddle, report: there } = await mapCheckpoint(source, { map: "torch2paddle" });
    expect(there.unmatched).toEqual([]);
    const p = await byName(paddle);
    const s = await byName(source);
    expect(p.get("fc.weight")!.bytes).toEqualBytes(referencePermute(s.get("fc.weight")!.bytes, [3, 6], 4, [1, 0]));
    expect(p.get("emb.weight")!.bytes).toEqualBytes(s.get("emb.weight")!.bytes);
    expect(p.get("features.0.weight")!.bytes).toEqualBytes(s.get("features.0.weight")!.bytes);
    expect(p.has("features.1._mean") && p.has("features.1._variance") && !p.has("features.1.num_batches_tracked")).toBe(true);
    expect(p.get("lstm.0.cell.weight_ih")!.bytes).toEqualBytes(s.get("lstm.weight_ih_l0")!.bytes);
    expect(p.get("lstm.1.cell.bias_hh")!.bytes).toEqualBytes(s.get("lstm.bias_hh_l1")!.bytes);
    expect(p.has("bilstm.0.cell_fw.weight_ih") && p.has("bilstm.0.cell_bw.weight_hh")).toBe(true);

    const { checkpoint: back, report } = await mapCheckpoint(reread(paddle), { map: "paddle2torch" });
    expect(report.unmatched).toEqual([]);
    const b = await byName(back);
    expect([...b.keys()].sort()).toEqual([...s.keys()].sort());
    for (const [name, x] of s) expect(b.get(name)!.bytes, name).toEqualBytes(x.bytes);
  });

  it("keras2paddle and paddle2keras go through PyTorch's conventions", async () => {
    const source = torchModel();
    const keras = reread((await mapCheckpoint(source, { map: "torch2keras" })).checkpoint);
    const { checkpoint: paddle, report } = await mapCheckpoint(keras, { map: "keras2paddle" });
    const p = await byName(paddle);
    const direct = await byName((await mapCheckpoint(source, { map: "torch2paddle" })).checkpoint);
    expect([...p.keys()].sort()).toEqual([...direct.keys()].sort());
    for (const [name, x] of direct)
      if (!/bias_(ih|hh)|cell(_fw|_bw)?\.bias/.test(name) || name.startsWith("gru")) expect(p.get(name)!.bytes, name).toEqualBytes(x.bytes);
    expect(report.tensors.find((r) => r.target === "fc.weight")!.rules).toEqual(["keras2torch#dense-kernel", "torch2paddle#linear-weight"]);
    expect(report.added).toEqual([]);
    expect(report.dropped).toEqual([]);

    // A bare [6,1,3,3] Paddle weight could be a plain conv with one input channel: the depthwise
    // kind has to come from a hint (Paddle program) or an override, as it does here.
    const hinted = reread(paddle);
    hinted.tensors = hinted.tensors.map((x) => (x.name.startsWith("dw.") ? { ...x, layer: { kind: "depthwise_conv2d", attributes: { groups: 3 } } } : x));
    const { checkpoint: k2 } = await mapCheckpoint(hinted, { map: "paddle2keras" });
    const k = await byName(keras);
    const k2m = await byName(k2);
    for (const [name, x] of k) expect(k2m.get(name)!.bytes, name).toEqualBytes(x.bytes);
  });

  it("keras2torch reads real Keras names: TF2 cells, Keras 2.2 names, bidirectional wrappers", async () => {
    const source = ckpt([
      t("lstm/lstm_cell/kernel:0", [6, 16]),
      t("lstm/lstm_cell/recurrent_kernel:0", [4, 16]),
      t("lstm/lstm_cell/bias:0", [16]),
      t("bidirectional/forward_gru/gru_cell_1/kernel:0", [6, 12]),
      t("bidirectional/forward_gru/gru_cell_1/recurrent_kernel:0", [4, 12]),
      t("bidirectional/forward_gru/gru_cell_1/bias:0", [2, 12]),
      t("bidirectional/backward_gru/gru_cell_2/kernel:0", [6, 12]),
      t("bidirectional/backward_gru/gru_cell_2/recurrent_kernel:0", [4, 12]),
      t("bidirectional/backward_gru/gru_cell_2/bias:0", [2, 12]),
      t("dense_1/kernel:0", [6, 3]),
      t("dense_1/bias:0", [3]),
      t("conv2d/kernel:0", [3, 3, 2, 8]),
      t("conv2d/bias:0", [8]),
      t("batch_normalization/gamma:0", [8]),
      t("batch_normalization/beta:0", [8]),
      t("batch_normalization/moving_mean:0", [8]),
      t("batch_normalization/moving_variance:0", [8]),
      t("sequential/block/dense/kernel", [3, 3]),
    ]);
    const { checkpoint, report } = await mapCheckpoint(source, { map: "keras2torch" });
    expect(report.unmatched).toEqual([]);
    expect(checkpoint.tensors.map((x) => `${x.name}[${x.shape}]`)).toEqual([
      "lstm.weight_ih_l0[16,6]",
      "lstm.weight_hh_l0[16,4]",
      "lstm.bias_ih_l0[16]",
      "lstm.bias_hh_l0[16]",
      "bidirectional.weight_ih_l0[12,6]",
      "bidirectional.weight_hh_l0[12,4]",
      "bidirectional.bias_ih_l0[12]",
      "bidirectional.bias_hh_l0[12]",
      "bidirectional.weight_ih_l0_reverse[12,6]",
      "bidirectional.weight_hh_l0_reverse[12,4]",
      "bidirectional.bias_ih_l0_reverse[12]",
      "bidirectional.bias_hh_l0_reverse[12]",
      "dense_1.weight[3,6]",
      "dense_1.bias[3]",
      "conv2d.weight[8,2,3,3]",
      "conv2d.bias[8]",
      "batch_normalization.weight[8]",
      "batch_normalization.bias[8]",
      "batch_normalization.running_mean[8]",
      "batch_normalization.running_var[8]",
      "batch_normalization.num_batches_tracked[]",
      "sequential.block.dense.weight[3,3]",
    ]);
  });

  it("keras2torch refuses a reset_after=False GRU", async () => {
    const source = ckpt([t("gru/kernel:0", [6, 12]), t("gru/recurrent_kernel:0", [4, 12]), t("gru/bias:0", [12])]);
    await expect(mapCheckpoint(source, { map: "keras2torch" })).rejects.toThrow(/reset_after=False/);
  });

  it("a user override gives Flatten→Dense its pre-flatten shape", async () => {
    const rules = {
      name: "flatten",
      kinds: [{ match: "^fc1\\.", kind: "linear", attributes: { flattenedFrom: { channels: 2, spatial: [3, 3] } } }],
      rules: [],
    };
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const file = join(mkdtempSync(join(tmpdir(), "wb-flat-")), "flatten.json");
    writeFileSync(file, JSON.stringify(rules));
    const source = ckpt([t("fc1.weight", [4, 18]), t("fc1.bias", [4])]);
    const { checkpoint, report } = await mapCheckpoint(source, { map: [file, "torch2keras"] });
    expect(report.tensors[0]!.transforms).toEqual(["flattenOrder(axis 1 → channels_last)", "transpose(1,0)"]);
    expect(report.tensors[0]!.kindEvidence).toBe("override");
    const w = floats(await source.tensors[0]!.data.read());
    const k = floats(await checkpoint.tensors[0]!.data.read()); // [H·W·C, out]
    for (let o = 0; o < 4; o++) for (let c = 0; c < 2; c++) for (let p = 0; p < 9; p++) expect(k[(p * 2 + c) * 4 + o]).toBe(w[o * 18 + c * 9 + p]);
  });

  it("onnx2torch uses the consuming node: Gemm transB, folded MatMul, exporter names", async () => {
    const source = ckpt([
      t("fc.weight", [4, 6], "float32", { kind: "linear", className: "Gemm", path: "fc", attributes: { input: "B", transB: 1 } }),
      t("fc.bias", [4], "float32", { kind: "linear", className: "Gemm", path: "fc", attributes: { input: "C", transB: 1 } }),
      t("onnx::Gemm_5", [6, 4], "float32", { kind: "linear", className: "Gemm", path: "fc2", attributes: { input: "B", transB: 0 } }),
      t("onnx::MatMul_9", [6, 3], "float32", { kind: "linear", className: "MatMul", path: "head", attributes: { input: "B" } }),
      t("onnx::ConvTranspose_12", [8, 3, 3, 3], "float32", {
        kind: "conv_transpose2d",
        className: "ConvTranspose",
        path: "features.up",
        attributes: { input: "W", group: 1 },
      }),
      t("onnx::ConvTranspose_13", [3], "float32", {
        kind: "conv_transpose2d",
        className: "ConvTranspose",
        path: "features.up",
        attributes: { input: "B", group: 1 },
      }),
    ]);
    const { checkpoint, report } = await mapCheckpoint(source, { map: "onnx2torch" });
    expect(report.unmatched).toEqual([]);
    expect(checkpoint.tensors.map((x) => `${x.name}[${x.shape}]`)).toEqual([
      "fc.weight[4,6]",
      "fc.bias[4]",
      "fc2.weight[4,6]",
      "head.weight[3,6]",
      "features.up.weight[8,3,3,3]",
      "features.up.bias[3]",
    ]);
    const src = await byName(source);
    expect(await checkpoint.tensors[3]!.data.read()).toEqualBytes(referencePermute(src.get("onnx::MatMul_9")!.bytes, [6, 3], 4, [1, 0]));
  });

  it("onnx2torch refuses an exporter-made Conv weight: a BatchNorm folded into it", async () => {
    const source = ckpt([
      t("onnx::Conv_12", [8, 3, 3, 3], "float32", { kind: "conv2d", className: "Conv", path: "features.conv", attributes: { input: "W", group: 1 } }),
      t("onnx::Conv_13", [8], "float32", { kind: "conv2d", className: "Conv", path: "features.conv", attributes: { input: "B", group: 1 } }),
    ]);
    await expect(mapCheckpoint(source, { map: "onnx2torch" })).rejects.toThrow(/folds every BatchNorm into the Conv before it.*TrainingMode\.PRESERVE/);
  });

  it("paddle2torch folds a hinted MultiHeadAttention back into in_proj, torch2paddle splits it", async () => {
    const E = 4;
    const source = ckpt([
      t("attn.in_proj_weight", [3 * E, E]),
      t("attn.in_proj_bias", [3 * E]),
      t("attn.out_proj.weight", [E, E]),
      t("attn.out_proj.bias", [E]),
    ]);
    const { checkpoint: paddle } = await mapCheckpoint(source, { map: "torch2paddle" });
    expect(paddle.tensors.map((x) => x.name)).toEqual([
      "attn.q_proj.weight",
      "attn.k_proj.weight",
      "attn.v_proj.weight",
      "attn.q_proj.bias",
      "attn.k_proj.bias",
      "attn.v_proj.bias",
      "attn.out_proj.weight",
      "attn.out_proj.bias",
    ]);
    const hinted = {
      ...paddle,
      tensors: paddle.tensors.map((x) => (x.name.includes("_proj") && !x.name.includes("out_proj") ? { ...x, layer: { kind: "MultiHeadAttention" } } : x)),
    };
    const { checkpoint: back } = await mapCheckpoint(hinted, { map: "paddle2torch" });
    const a = await byName(source);
    const b = await byName(back);
    for (const [name, x] of a) expect(b.get(name)!.bytes, name).toEqualBytes(x.bytes);
  });
});
