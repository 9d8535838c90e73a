import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { read } from "../../src/api/open.js";
import { write } from "../../src/api/write.js";
import { convert } from "../../src/api/convert.js";
import { verify } from "../../src/api/verify.js";
import { floats, replaced, withValues } from "./helpers.js";
import { FIXTURES } from "../helpers/fixtures.js";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "wb-verify-cli-"));
}

describe("weightbridge verify on real files", () => {
  it("ONNX → PyTorch (onnx2torch) of a torch-exported embedding/conv/GRU graph", () => {
    const dir = tmp();
    const out = join(dir, "m.pth");
    expect(runCli(["convert", join(FIXTURES, "onnx/torch_embed_gru.onnx"), out, "--map", "onnx2torch", "-q"]).code).toBe(0);
    const r = runCli(["verify", join(FIXTURES, "onnx/torch_embed_gru.onnx"), out, "--map", "onnx2torch"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^layer\s+kind\s+onnx → pytorch\s+max abs\s+max rel\s+verdict$/m);
    expect(r.stdout).toMatch(/^gru\s+gru\s+.*→ gru\.weight_ih_l0, … \(4\)\s+0\s+0\s+ok$/m);
    // The exporter's shape constants are listed, not counted.
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^verified 3 layers, max rel error 0; 6 layers not checkable: /);
  });

  it("a torch2paddle output verified without --map fails and says to give verify the conversion's --map", () => {
    const dir = tmp();
    const source = join(FIXTURES, "pytorch/real/three_layer_model.pt");
    const out = join(dir, "m.pdparams");
    expect(runCli(["convert", source, out, "--map", "torch2paddle", "-q"]).code).toBe(0);
    const bare = runCli(["verify", source, out]);
    expect(bare.code).toBe(1);
    expect(bare.stdout.trim().split("\n").at(-1)).toMatch(
      /^FAILED: .*; the converted file is paddle: if it was converted with --map torch2paddle, verify it with the same --map$/,
    );
    const mapped = runCli(["verify", source, out, "--map", "torch2paddle"]);
    expect(mapped.code).toBe(0);
    expect(mapped.stdout).not.toContain("verify it with the same --map");
  });

  // head/dense reads Flatten(conv features 6×6×4): its rows are reordered, and verify feeds the
  // feature map flattened channels-last on the Keras side and channels-first on the other.
  const FLATTEN = ["--layer", "^head/dense/=linear(flatten=4,6,6)"];

  it("PyTorch → ONNX re-weighting of a torch-exported embedding/conv/GRU graph (GRU W/R/B built from torch weights)", async () => {
    const dir = tmp();
    const template = join(FIXTURES, "onnx/torch_embed_gru.onnx");
    await convert(template, join(dir, "m.pth"), { map: "onnx2torch" });
    const report = await convert(join(dir, "m.pth"), join(dir, "re.onnx"), { template, verify: true });
    expect(report.verification!.rows.map((r) => [r.layer, r.kind, r.verdict])).toEqual([
      ["emb", "embedding", "agrees"],
      ["conv1", "conv1d", "agrees"],
      ["gru", "gru", "agrees"],
      ["(whole model)", "graph", "not-checkable"],
    ]);
    // A state_dict has no graph to run against the converted one: the row says so, and why.
    expect(report.verification!.wholeModel!.reason).toMatch(
      /the source \(pytorch\) holds weights, no graph to run: convert from its ONNX export or a Keras model\.save file/,
    );
  });

  it("Keras (model.save .h5 with config) → PyTorch and → Paddle", () => {
    const dir = tmp();
    for (const [out, map] of [
      ["m.pth", "keras2torch"],
      ["m.pdparams", "keras2paddle"],
    ] as const) {
      expect(runCli(["convert", join(FIXTURES, "keras/tfkeras_model.h5"), join(dir, out), "--map", map, "-q", ...FLATTEN]).code).toBe(0);
      const r = runCli(["verify", join(FIXTURES, "keras/tfkeras_model.h5"), join(dir, out), "--map", map, "--json", ...FLATTEN]);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result.ok).toBe(true);
      expect(result.verified).toBe(6);
      const bn = result.rows.find((row: { layer: string }) => row.layer === "batch_normalization");
      expect(bn).toMatchObject({ kind: "batchnorm", verdict: "agrees", maxRel: 0 });
      // The Keras config states ε; the PyTorch file cannot, so the row says what was assumed.
      expect(bn.notes.join()).toMatch(/ε 0.001 stated by the source only/);
      const dense = result.rows.find((row: { layer: string }) => row.layer === "head/dense");
      expect(dense).toMatchObject({ verdict: "agrees", notes: ["input flattened from 4 channels × 36 positions"] });
    }
  });

  it("Keras 3 (.weights.h5, variables by index) → PyTorch", () => {
    const dir = tmp();
    const src = join(FIXTURES, "keras/keras3.weights.h5");
    expect(runCli(["convert", src, join(dir, "m.pth"), "--map", "keras2torch", "-q"]).code).toBe(0);
    const r = runCli(["verify", src, join(dir, "m.pth"), "--map", "keras2torch"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lstm_cell\s+lstm\s+layers\/lstm\/cell\/vars\/0, … \(3\) → lstm\.weight_ih_l0, … \(4\)\s+0\s+0\s+ok$/m);
    expect(r.stdout.trim().split("\n").at(-1)).toBe(
      "verified 4 layers, max rel error 0; 1 layer not checkable: not in the converted file (left out by the conversion: optimizer state, exporter constants ...)",
    );
  });

  it("exits 1 and names the layer when a converted file is wrong", async () => {
    const dir = tmp();
    const good = join(dir, "m.pth");
    expect(runCli(["convert", join(FIXTURES, "keras/tfkeras_model.h5"), good, "--map", "keras2torch", "-q", ...FLATTEN]).code).toBe(0);
    const c = await read(good);
    const w = c.tensors.find((t) => t.name === "dense_64.weight")!;
    // The Dense weight's values out of order (what a wrong reshape does).
    const kernel = await floats(w);
    const broken = replaced(c, "dense_64.weight", withValues(w, kernel.reverse()));
    await write(broken, join(dir, "bad.pth"));
    await c.close();
    const r = runCli(["verify", join(FIXTURES, "keras/tfkeras_model.h5"), join(dir, "bad.pth"), "--map", "keras2torch", ...FLATTEN]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^dense_64\s+linear\s+.*FAIL$/m);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^FAILED: 1 of 6 checked layers disagree \(dense_64: max rel error \d/);
  });

  it("a usage error for a missing file is one line, exit 1", () => {
    const r = runCli(["verify", "/nonexistent.pt", "/nonexistent.h5"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

const MAKE = String.raw`
import sys, torch, torch.nn as nn
torch.manual_seed(0)
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.fc = nn.Linear(6, 5)
        s.conv = nn.Conv2d(3, 4, 3)
        s.c1 = nn.Conv1d(3, 4, 2)
        s.c3 = nn.Conv3d(2, 3, 2)
        s.dw = nn.Conv2d(4, 8, 3, groups=4)
        s.up = nn.ConvTranspose2d(4, 3, 2)
        s.bn = nn.BatchNorm2d(4)
        s.ln = nn.LayerNorm(7)
        s.emb = nn.Embedding(11, 4)
        s.lstm = nn.LSTM(5, 3, num_layers=2, bidirectional=True)
        s.gru = nn.GRU(4, 3)
        s.rnn = nn.RNN(4, 3)
        s.attn = nn.MultiheadAttention(8, 2)
m = M()
with torch.no_grad():
    for p in m.parameters(): p.copy_(torch.randn_like(p) * 0.5)
    m.bn.running_mean.uniform_(-1, 1); m.bn.running_var.uniform_(0.5, 2)
torch.save(m.state_dict(), sys.argv[1])
`;

describe.skipIf(!hasPythonModules("torch"))("verify passes right conversions between torch, Keras and Paddle", () => {
  const torchLayers = ["attn=mha(num_heads=2)", "^dw\\.=depthwise_conv2d(groups=4)", "^up\\.=conv_transpose2d"];
  it("torch → Keras → torch, torch → Paddle → Keras, Keras → Paddle → torch: every layer kind agrees", async () => {
    const dir = tmp();
    const src = join(dir, "m.pt");
    runPython(MAKE, [src]);
    // A weights-only Keras MHA needs no --layer: its query/key/value/attention_output sublayers say it.
    const kerasLayers = ["^up/=conv_transpose2d"];
    const steps: Array<[string, string, string, string[]]> = [
      [src, "k.h5", "torch2keras", torchLayers],
      [src, "p.pdparams", "torch2paddle", torchLayers],
      ["k.h5", "kt.pth", "keras2torch", kerasLayers],
      ["p.pdparams", "pk.h5", "paddle2keras", torchLayers],
      ["k.h5", "kp.pdparams", "keras2paddle", kerasLayers],
      ["kp.pdparams", "kpt.pth", "paddle2torch", torchLayers],
    ];
    for (const [from, to, map, layers] of steps) {
      const input = from.startsWith("/") ? from : join(dir, from);
      await convert(input, join(dir, to), { map, layers });
      const result = await verify(input, join(dir, to), { map, layers });
      const bad = result.rows.filter((row) => row.verdict !== "agrees");
      expect(bad, `${map}: ${result.summary}`).toEqual([]);
      // A stacked Keras LSTM is one Keras layer per torch layer: 14 rows from Keras.
      expect(result.verified, map).toBe(map.startsWith("keras") ? 14 : 13);
      expect(result.maxRel, map).toBeLessThan(1e-6);
    }
  });
});
