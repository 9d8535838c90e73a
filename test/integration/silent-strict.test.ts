import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";

// Issue 15, --strict: it passes on right conversions. A torch state_dict (with BatchNorm's
// num_batches_tracked, which ONNX has no place for) re-weights an ONNX template whose ReLU6 is a
// Clip with min/max initializers (graph constants, not weights); onnxruntime computes the result.

const MAKE = String.raw`
import sys, json, torch
d = sys.argv[1]
def net():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU6(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
def randomized(m, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters(): p.copy_(torch.randn_like(p))
        m[1].running_mean.copy_(torch.randn(4)); m[1].running_var.copy_(torch.rand(4) + 0.5); m[1].num_batches_tracked.fill_(3)
    return m.eval()
trained = randomized(net(), 0)
torch.save(trained.state_dict(), d + "/sd.pt")
template = randomized(net(), 1)
torch.onnx.export(template, torch.randn(1, 3, 6, 6), d + "/template.onnx", opset_version=13,
    training=torch.onnx.TrainingMode.PRESERVE, input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
torch.manual_seed(2)
x = torch.randn(2, 3, 6, 6)
json.dump({"x": x.flatten().tolist(), "y": trained(x).detach().flatten().tolist()}, open(d + "/io.json", "w"))
`;

describe.skipIf(!hasPythonModules("torch", "onnx"))("--strict passes on right conversions (issue 15)", { timeout: 360_000 }, () => {
  it("torch state_dict → ONNX template with BatchNorm and ReLU6 (Clip bounds): --strict exits 0 and onnxruntime computes what torch does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-strict-"));
    runPython(MAKE, [dir]);
    const out = join(dir, "out.onnx");
    const report = join(dir, "report.json");
    const r = runCli(["convert", join(dir, "sd.pt"), out, "--template", join(dir, "template.onnx"), "--strict", "--report", report]);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(report, "utf8")).dropped).toEqual(["1.num_batches_tracked"]);
    const io = JSON.parse(readFileSync(join(dir, "io.json"), "utf8")) as { x: number[]; y: number[] };
    const session = await ort.InferenceSession.create(out);
    const result = await session.run({ x: new ort.Tensor("float32", Float32Array.from(io.x), [2, 3, 6, 6]) });
    const y = result.y!.data as Float32Array;
    const scale = Math.max(...io.y.map(Math.abs));
    const err = Math.max(...io.y.map((v, i) => Math.abs(v - y[i]!))) / scale;
    expect(err).toBeLessThan(1e-4);
  });
});
