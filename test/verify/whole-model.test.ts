import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";
import { FIXTURES } from "../helpers/fixtures.js";
import { convert } from "../../src/api/convert.js";
import { verify } from "../../src/api/verify.js";

// The whole-model check (verify's last row when the converted file is an ONNX graph): real
// graphs exported by torch, run by onnxruntime-node on both sides.
//
// ONNX → ONNX: the source is a trained model exported with its BatchNorm kept (PRESERVE); the
// template is a fresh model's default export (BatchNorm folded into the Conv, a fixed batch of 1
// where the source's is symbolic). fc2 and fc3 have
// the same shape: a rule file that swaps them gives every layer row "ok" (each source layer's
// weights are where the report says), and only running the graph shows the model is wrong.
const MAKE = String.raw`
import sys, torch, torch.nn as nn
torch.manual_seed(0)
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv2d(3, 4, 3); s.bn = nn.BatchNorm2d(4)
        s.fc1 = nn.Linear(64, 16); s.fc2 = nn.Linear(16, 16); s.fc3 = nn.Linear(16, 16); s.out = nn.Linear(16, 5)
    def forward(s, x):
        h = torch.relu(s.fc1(torch.flatten(s.bn(s.conv(x)), 1)))
        h = torch.relu(s.fc2(h)) + h
        return s.out(torch.tanh(s.fc3(h)))
x = torch.randn(1, 3, 6, 6)
torch.onnx.export(M().eval(), x, sys.argv[1])
m = M().eval()
with torch.no_grad():
    for p in m.parameters(): p.add_(0.1 * torch.randn_like(p))
    m.bn.running_mean.uniform_(-1, 1); m.bn.running_var.uniform_(0.5, 2)
torch.onnx.export(m, x, sys.argv[2], training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
`;

// The real Keras 2.0 Conv2D(same) → Dropout → Flatten → Dense fixture as torch would write it:
// its ONNX export is the template a Keras user re-weights.
const KERAS_TWIN = String.raw`
import sys, torch, torch.nn as nn
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv2d_1 = nn.Conv2d(1, 2, 3, padding=1); s.dense_1 = nn.Linear(128, 10)
    def forward(s, x):
        return torch.softmax(s.dense_1(torch.flatten(torch.relu(s.conv2d_1(x)), 1)), -1)
torch.onnx.export(M().eval(), torch.randn(1, 1, 8, 8), sys.argv[1])
`;

const SWAP = {
  name: "swap-fc2-fc3",
  rules: [
    { id: "fc2-as-fc3", match: { name: "^fc2\\.(.+)$" }, rename: "fc3.$1" },
    { id: "fc3-as-fc2", match: { name: "^fc3\\.(.+)$" }, rename: "fc2.$1" },
  ],
};

// Node resolves onnxruntime-node as not installed: what a user without it sees.
const WITHOUT_ORT = `data:text/javascript,${encodeURIComponent(
  `import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent(${JSON.stringify(
    `export async function resolve(specifier, context, next) { if (specifier === "onnxruntime-node") throw Object.assign(new Error("Cannot find package 'onnxruntime-node'"), { code: "ERR_MODULE_NOT_FOUND" }); return next(specifier, context); }`,
  )}));`,
)}`;

describe.skipIf(!hasPythonModules("torch", "onnx") || !existsSync(CLI))("whole-model check on torch-exported ONNX graphs", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-whole-"));
  const [template, source, swap] = ["template.onnx", "source.onnx", "swap.json"].map((n) => join(dir, n)) as [string, string, string];

  it("ONNX → ONNX re-weighting into a BatchNorm-folded export: every layer and the whole model agree", async () => {
    runPython(MAKE, [template, source]);
    const report = await convert(source, join(dir, "good.onnx"), { template, verify: true });
    const whole = report.verification!.wholeModel!;
    expect(whole).toMatchObject({ layer: "(whole model)", kind: "ONNX graph vs ONNX graph", verdict: "agrees" });
    expect(whole.maxRel!).toBeLessThan(1e-5);
    expect(report.verification!.rows.at(-1)).toEqual(whole);
    // The source's batch is symbolic, the template's 1: both graphs run on the template's size.
    expect(whole.notes).toEqual([expect.stringMatching(/^inputs \S+ \[1,3,6,6\] seeded uniform in \[-1, 1\); 1 output compared$/)]);
    const r = runCli(["verify", source, join(dir, "good.onnx"), "--template", template]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\(whole model\)\s+ONNX graph vs ONNX graph\s+.*ok$/m);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(
      /^verified 5 layers, max rel error \S+; whole model agrees \(ONNX graph vs ONNX graph\), max rel error \S+$/,
    );
  });

  it("a graph with external data: convert --verify says it cannot run it from the temporaries; verify on the written files runs it", async () => {
    const out = join(dir, "external.onnx");
    const report = await convert(source, out, { template, externalData: true, verify: true });
    expect(report.verification!.ok).toBe(true);
    expect(report.verification!.wholeModel).toMatchObject({
      verdict: "not-checkable",
      reason: expect.stringMatching(/keeps its weights in external data.*run weightbridge verify on the written files/),
    });
    expect(existsSync(`${out}.data`)).toBe(true);
    expect((await verify(source, out, { template })).wholeModel).toMatchObject({ verdict: "agrees" });
  });

  it("two same-shaped layers swapped: each layer row agrees, the whole model fails (exit 1; convert --verify writes nothing)", async () => {
    writeFileSync(swap, JSON.stringify(SWAP));
    const bad = join(dir, "swapped.onnx");
    await convert(source, bad, { template, map: swap });
    const result = await verify(source, bad, { template, map: swap });
    const layers = result.rows.slice(0, -1);
    expect(layers.map((r) => [r.layer, r.verdict])).toEqual([
      ["conv + bn", "agrees"],
      ["fc1", "agrees"],
      ["fc2", "agrees"],
      ["fc3", "agrees"],
      ["out", "agrees"],
    ]);
    expect(layers.find((r) => r.layer === "fc2")!.target).toEqual(["fc3.weight", "fc3.bias"]);
    expect(result.wholeModel).toMatchObject({ verdict: "disagrees" });
    expect(result.wholeModel!.maxRel!).toBeGreaterThan(1e-2);
    expect(result.ok).toBe(false);
    expect(result.summary).toMatch(/^FAILED: whole model disagrees \(ONNX graph vs ONNX graph\): max rel error \S+ > 1\.0e-4; verified 5 layers/);
    const json = runCli(["verify", source, bad, "--template", template, "--map", swap, "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).wholeModel.verdict).toBe("disagrees");
    const refused = runCli(["convert", source, join(dir, "never.onnx"), "--template", template, "--map", swap, "--verify"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FAILED: whole model disagrees .*; nothing written/);
    expect(existsSync(join(dir, "never.onnx"))).toBe(false);
  });

  it("a real Keras model re-weighted into its torch twin's export: the layers composed along its config agree with the graph", async () => {
    const twin = join(dir, "twin.onnx");
    runPython(KERAS_TWIN, [twin]);
    const real = join(FIXTURES, "keras/real");
    const args = [join(real, "KERAS_conv2d_model_weights.h5"), join(dir, "keras.onnx")];
    const options = ["--keras-config", join(real, "KERAS_conv2d_model.json"), "--template", twin, "--map", "keras2torch"];
    const c = runCli(["convert", ...args, ...options, "--verify"]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/whole model agrees \(Keras config composed vs ONNX graph\)/);
    const r = runCli(["verify", ...args, ...options, "--json"]);
    expect(r.code, r.stdout).toBe(0);
    const whole = JSON.parse(r.stdout).wholeModel;
    expect(whole).toMatchObject({ verdict: "agrees", kind: "Keras config composed vs ONNX graph" });
    expect(whole.maxRel).toBeLessThan(1e-5);
    // Without its config the weights file says no graph: the row says what would enable it.
    const bare = runCli(["verify", ...args, "--template", twin, "--map", "keras2torch", "--layer", "^dense_1/=linear(flatten=2,8,8)", "--json"]);
    expect(JSON.parse(bare.stdout).wholeModel).toMatchObject({
      verdict: "not-checkable",
      reason: expect.stringMatching(/holds no model config \(save_weights\): give the model\.save file \(or --keras-config\)/),
    });
  });

  it("without onnxruntime-node the layers are still checked and one line says how to enable the whole-model check", () => {
    const r = runCli(["verify", source, join(dir, "good.onnx"), "--template", template], { env: { NODE_OPTIONS: `--import=${WITHOUT_ORT}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(
      /; whole model not checked: install onnxruntime-node \(npm install onnxruntime-node\) to run the whole-model check$/,
    );
  });
});
