import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hasPythonModules } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";
import { makeCase, relativeError, runOnnx } from "./onnx-reweight-helpers.js";

// A default torch.onnx.export (eval mode) folds every BatchNorm into the Conv before it: the
// template's convs hold W·γ/√(var+ε) and β + (b − mean)·γ/√(var+ε) under exporter-made names,
// and no BatchNorm is left. Re-weighting it with a torch state_dict must fold the same way.
const MODEL = String.raw`
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1); self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 6, 3, bias=False); self.bn2 = torch.nn.BatchNorm2d(6, eps=1e-3)
        self.down = torch.nn.Sequential(torch.nn.Conv2d(6, 4, 1, bias=False), torch.nn.BatchNorm2d(4))
        self.fc = torch.nn.Linear(4, 5)
    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(self.down(x).mean((2, 3)))
`;
const EPS = ["--layer", "^bn2\\.=batchnorm(eps=1e-3)"];

describe.skipIf(!hasPythonModules("torch", "onnx") || !existsSync(CLI))("ONNX re-weighting: BatchNorm folded into Conv by a default export", () => {
  it("folds the weights' BatchNorms into the template's convs (ε from --layer); onnxruntime computes what torch does", async () => {
    const c = makeCase({ model: MODEL, input: [2, 3, 8, 8], template: "trained", mode: "eval" });
    const out = join(c.dir, "out.onnx");
    const r = runCli(["convert", c.weights, out, "--template", c.template, ...EPS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/no place|kept their template values/);
    // bn1 and down.1 say no ε: torch's default is used, and the summary says so.
    expect(r.stderr).toMatch(/BatchNorm bn1, down\.1 folded into the template's convs with ε=0\.00001 \(torch's default\)/);
    expect(relativeError(await runOnnx(out, c.input), c.expected)).toBeLessThan(1e-4);
    expect(relativeError(c.templateOutput, c.expected)).toBeGreaterThan(0.1);
  });

  it("a template from a fresh model (folded and merged zero biases) works the same", async () => {
    const c = makeCase({ model: MODEL, input: [2, 3, 8, 8], template: "fresh", mode: "eval" });
    const out = join(c.dir, "out.onnx");
    const r = runCli(["convert", c.weights, out, "--template", c.template, ...EPS]);
    expect(r.code, r.stderr).toBe(0);
    expect(relativeError(await runOnnx(out, c.input), c.expected)).toBeLessThan(1e-4);
  });

  it("BatchNorms declared before their convs cannot be paired by order: refused, not folded into the wrong conv", () => {
    const reversed = String.raw`
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bn1 = torch.nn.BatchNorm2d(4); self.conv1 = torch.nn.Conv2d(3, 4, 3)
        self.bn2 = torch.nn.BatchNorm2d(4); self.conv2 = torch.nn.Conv2d(4, 4, 3)
        self.fc = torch.nn.Linear(4, 2)
    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x))); x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(x.mean((2, 3)))
`;
    const c = makeCase({ model: reversed, input: [1, 3, 8, 8], template: "trained", mode: "eval" });
    const out = join(c.dir, "out.onnx");
    const r = runCli(["convert", c.weights, out, "--template", c.template]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/BatchNorm bn1 has no place in the template.*follows no folded conv.*TrainingMode\.PRESERVE/);
    expect(existsSync(out)).toBe(false);
  });

  it("--strict refuses to assume ε, and says how to give it", () => {
    const c = makeCase({ model: MODEL, input: [1, 3, 8, 8], template: "trained", mode: "eval" });
    const out = join(c.dir, "out.onnx");
    const r = runCli(["convert", c.weights, out, "--template", c.template, "--strict"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--strict: BatchNorm bn1, bn2, down\.1 folded .* the weights do not say ε; if a layer used another, give it with --layer/);
    expect(existsSync(out)).toBe(false);
  });
});
