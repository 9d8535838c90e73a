import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { verify } from "../../src/api/verify.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import { checkpoint, f32, floats, replaced, swapColumnBlocks } from "./helpers.js";

// verify passes right conversions and FAILS deliberately broken ones: each break is what a
// plausible converter bug would write, made here by hand on the correct output.

async function converted(source: Checkpoint, map: string, layers?: string[]): Promise<Checkpoint> {
  const { checkpoint: out } = await mapCheckpoint(source, { map, layers });
  return { ...out, format: map.endsWith("keras") ? "keras-h5" : map.endsWith("paddle") ? "paddle" : "pytorch" };
}

function rowOf(result: Awaited<ReturnType<typeof verify>>, layer: string) {
  const row = result.rows.find((r) => r.layer === layer);
  if (!row) throw new Error(`no row for ${layer}: ${result.rows.map((r) => r.layer).join(", ")}`);
  return row;
}

describe("verify catches broken conversions", () => {
  it("a Dense kernel left untransposed (square, so the shapes cannot tell)", async () => {
    const source = checkpoint([f32("fc.weight", [6, 6]), f32("fc.bias", [6])]);
    const right = await converted(source, "torch2keras");
    const good = await verify(source, right, { map: "torch2keras" });
    expect(good.ok).toBe(true);
    expect(rowOf(good, "fc")).toMatchObject({ verdict: "agrees", kind: "linear" });
    const untransposed = replaced(right, "fc/kernel:0", source.tensors[0]!);
    const bad = await verify(source, untransposed, { map: "torch2keras" });
    expect(bad.ok).toBe(false);
    expect(rowOf(bad, "fc").verdict).toBe("disagrees");
    expect(rowOf(bad, "fc").maxRel!).toBeGreaterThan(1e-2);
    expect(bad.summary).toMatch(/^FAILED: 1 of 1 checked layers disagree \(fc: /);
  });

  it("a non-square Dense kernel left untransposed disagrees on shape", async () => {
    const source = checkpoint([f32("fc.weight", [3, 5]), f32("fc.bias", [3])]);
    const right = await converted(source, "torch2paddle");
    expect((await verify(source, right, { map: "torch2paddle" })).ok).toBe(true);
    const bad = await verify(source, replaced(right, "fc.weight", source.tensors[0]!), { map: "torch2paddle" });
    expect(rowOf(bad, "fc")).toMatchObject({ verdict: "disagrees" });
    expect(rowOf(bad, "fc").reason).toMatch(/5→3 features.*3→5/);
  });

  it("LSTM gates in the wrong order", async () => {
    const H = 3;
    const source = checkpoint([
      f32("lstm.weight_ih_l0", [4 * H, 4]),
      f32("lstm.weight_hh_l0", [4 * H, H]),
      f32("lstm.bias_ih_l0", [4 * H]),
      f32("lstm.bias_hh_l0", [4 * H]),
    ]);
    const right = await converted(source, "torch2keras");
    expect(rowOf(await verify(source, right, { map: "torch2keras" }), "lstm").verdict).toBe("agrees");
    // ONNX's i, o, f, c order written where Keras expects i, f, c, o.
    const kernel = right.tensors.find((t) => t.name === "lstm/kernel:0")!;
    const wrong = swapColumnBlocks(await floats(kernel), 4, 4 * H, [0, 3, 1, 2]);
    const bad = await verify(source, replaced(right, "lstm/kernel:0", f32("x", [4, 4 * H], wrong)), { map: "torch2keras" });
    expect(rowOf(bad, "lstm").verdict).toBe("disagrees");
    expect(bad.ok).toBe(false);
  });

  it("Paddle RNN cell aliases that do not hold the weight_ih_l values", async () => {
    const H = 2;
    const source = checkpoint([
      f32("lstm.weight_ih_l0", [4 * H, 3]),
      f32("lstm.weight_hh_l0", [4 * H, H]),
      f32("lstm.bias_ih_l0", [4 * H]),
      f32("lstm.bias_hh_l0", [4 * H]),
    ]);
    const right = await converted(source, "torch2paddle");
    expect(right.tensors.map((t) => t.name)).toContain("lstm.0.cell.weight_ih");
    expect(rowOf(await verify(source, right, { map: "torch2paddle" }), "lstm").verdict).toBe("agrees");
    const stale = replaced(right, "lstm.0.cell.weight_ih", f32("x", [4 * H, 3]));
    const row = rowOf(await verify(source, stale, { map: "torch2paddle" }), "lstm");
    expect(row.verdict).toBe("disagrees");
    expect(row.reason).toMatch(/lstm\.0\.cell\.weight_ih does not hold the values of lstm\.weight_ih_l0/);
  });

  it("a Dense after a Flatten without the row reorder", async () => {
    // A feature map of 2 channels × 2×3 positions flattened into 12 inputs.
    const hint = { kind: "linear", attributes: { flattenedFrom: { channels: 2, spatial: [2, 3] } } };
    const source = checkpoint([f32("fc.weight", [4, 12], undefined, hint), f32("fc.bias", [4], undefined, hint)]);
    const right = await converted(source, "torch2keras");
    const good = await verify(source, right, { map: "torch2keras" });
    expect(rowOf(good, "fc")).toMatchObject({ verdict: "agrees" });
    expect(rowOf(good, "fc").notes?.join()).toMatch(/flattened from 2 channels × 6 positions/);
    // Transposed only: rows still in PyTorch's (C, H, W) order, Keras flattens (H, W, C).
    const w = await floats(source.tensors[0]!);
    const plain = new Float32Array(12 * 4);
    for (let o = 0; o < 4; o++) for (let i = 0; i < 12; i++) plain[i * 4 + o] = w[o * 12 + i]!;
    const bad = await verify(source, replaced(right, "fc/kernel:0", f32("x", [12, 4], plain)), { map: "torch2keras" });
    expect(rowOf(bad, "fc").verdict).toBe("disagrees");
  });

  it("a Dense after a Flatten stated with --layer 'fc=linear(flatten=C,H,W)'", async () => {
    const layers = ["^fc\\.=linear(flatten=2,2,3)"];
    const source = checkpoint([f32("conv.weight", [2, 1, 3, 3]), f32("conv.bias", [2]), f32("fc.weight", [4, 12]), f32("fc.bias", [4])]);
    const right = await converted(source, "torch2keras", layers);
    expect(rowOf(await verify(source, right, { map: "torch2keras", layers }), "fc").verdict).toBe("agrees");
    const w = await floats(source.tensors[2]!);
    const plain = new Float32Array(12 * 4);
    for (let o = 0; o < 4; o++) for (let i = 0; i < 12; i++) plain[i * 4 + o] = w[o * 12 + i]!;
    const bad = await verify(source, replaced(right, "fc/kernel:0", f32("x", [12, 4], plain)), { map: "torch2keras", layers });
    expect(rowOf(bad, "fc").verdict).toBe("disagrees");
    expect(rowOf(bad, "conv").verdict).toBe("agrees");
  });

  it("a BatchNorm whose ε differs between the files", async () => {
    const torchBn = (eps: number) => ({ kind: "batchnorm", framework: "pytorch", attributes: { eps } });
    const variance = [0.01, 0.02, 0.05, 0.1];
    const source = checkpoint([
      f32("bn.weight", [4], undefined, torchBn(1e-5)),
      f32("bn.bias", [4], undefined, torchBn(1e-5)),
      f32("bn.running_mean", [4], undefined, torchBn(1e-5)),
      f32("bn.running_var", [4], variance, torchBn(1e-5)),
    ]);
    const right = await converted(source, "torch2keras");
    const withEpsilon = (c: Checkpoint, epsilon: number): Checkpoint => ({
      ...c,
      tensors: c.tensors.map((t) => ({ ...t, layer: { kind: "batchnorm", framework: "keras", attributes: { epsilon } } })),
    });
    const good = await verify(source, withEpsilon(right, 1e-5), { map: "torch2keras" });
    expect(rowOf(good, "bn").verdict).toBe("agrees");
    // Keras' default ε (1e-3) in the converted model's config: the same weights compute differently.
    const bad = await verify(source, withEpsilon(right, 1e-3), { map: "torch2keras" });
    expect(rowOf(bad, "bn").verdict).toBe("disagrees");
    // Neither file says: assumed equal, and the row says so.
    const bare = checkpoint(source.tensors.map((t) => ({ ...t, layer: undefined })));
    const unstated = await verify(bare, await converted(bare, "torch2keras"), { map: "torch2keras" });
    expect(rowOf(unstated, "bn").verdict).toBe("agrees");
    expect(rowOf(unstated, "bn").notes?.join()).toMatch(/ε not in either file.*keras's default is 0.001/);
  });

  it("a GRU with the wrong reset_after", async () => {
    const H = 2;
    const source = checkpoint([
      f32("gru.weight_ih_l0", [3 * H, 3]),
      f32("gru.weight_hh_l0", [3 * H, H]),
      f32("gru.bias_ih_l0", [3 * H]),
      f32("gru.bias_hh_l0", [3 * H]),
    ]);
    const right = await converted(source, "torch2keras");
    expect(rowOf(await verify(source, right, { map: "torch2keras" }), "gru").verdict).toBe("agrees");
    // One summed bias [3H]: what reset_after=False Keras GRUs hold; PyTorch's GRU resets after.
    const bias = await floats(right.tensors.find((t) => t.name === "gru/bias:0")!);
    const summed = bias.slice(0, 3 * H).map((v, i) => v + bias[3 * H + i]!);
    const bad = await verify(source, replaced(right, "gru/bias:0", f32("x", [3 * H], summed)), { map: "torch2keras" });
    expect(rowOf(bad, "gru").verdict).toBe("disagrees");
    // A config that says reset_after=False beside a [2, 3H] bias cannot hold either.
    const lying = { ...right, tensors: right.tensors.map((t) => ({ ...t, layer: { kind: "gru", framework: "keras", attributes: { reset_after: false } } })) };
    const r = rowOf(await verify(source, lying, { map: "torch2keras" }), "gru");
    expect(r.verdict).toBe("disagrees");
    expect(r.reason).toMatch(/reset_after=false/);
  });

  it("lists tensors of unknown kind as not checkable, never as verified", async () => {
    const source = checkpoint([f32("fc.weight", [2, 2]), f32("fc.bias", [2]), f32("mystery", [7])]);
    const result = await verify(source, source);
    expect(rowOf(result, "").verdict).toBe("not-checkable");
    expect(result.verified).toBe(1);
    expect(result.notCheckable).toBe(1);
    expect(result.summary).toMatch(/^verified 1 layer, max rel error 0; 1 layer not checkable: layer kind unknown/);
  });

  it("a converted file lacking a tensor of the layer disagrees", async () => {
    const source = checkpoint([f32("fc.weight", [2, 3]), f32("fc.bias", [2])]);
    const right = await converted(source, "torch2keras");
    const bad = await verify(source, { ...right, tensors: right.tensors.filter((t) => t.name !== "fc/bias:0") }, { map: "torch2keras" });
    expect(rowOf(bad, "fc")).toMatchObject({ verdict: "disagrees", reason: "the converted file lacks fc/bias:0" });
  });
});
