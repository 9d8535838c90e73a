import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hasPythonModules } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";
import { makeCase, relativeError, runOnnx } from "./onnx-reweight-helpers.js";

// A template exported from a freshly initialised model: every BatchNorm weight is ones, every
// bias and running mean zeros, so torch.onnx.export keeps one initializer per value and names the
// others with Identity nodes (bn2.weight = Identity(bn1.weight)). Trained weights differ: each
// merged weight must get its own initializer.
const RESNETISH = String.raw`
class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False); self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False); self.bn2 = torch.nn.BatchNorm2d(c)
    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False); self.bn = torch.nn.BatchNorm2d(8)
        self.layer1 = torch.nn.Sequential(Block(8), Block(8))
        self.fc = torch.nn.Linear(8, 5)
    def forward(self, x):
        x = self.layer1(torch.relu(self.bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))
`;

describe.skipIf(!hasPythonModules("torch", "onnx") || !existsSync(CLI))("ONNX re-weighting: templates with merged initializers", () => {
  it("a fresh-model PRESERVE export: every BatchNorm gets its own weights; onnxruntime computes what torch does", async () => {
    const c = makeCase({ model: RESNETISH, input: [2, 3, 8, 8], template: "fresh", mode: "preserve" });
    const out = join(c.dir, "out.onnx");
    const r = runCli(["convert", c.weights, out, "--template", c.template]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/no place/);
    expect(relativeError(await runOnnx(out, c.input), c.expected)).toBeLessThan(1e-4);
    expect(relativeError(c.templateOutput, c.expected)).toBeGreaterThan(0.1); // the weights did change
  });
});
