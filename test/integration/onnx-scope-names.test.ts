import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";

// --map onnx2torch names exporter-named weights (onnx::MatMul_N, onnx::LSTM_N) by the consuming
// node's module path. Nested modules must get their full path: an LSTM inside `enc`, Linear
// layers on 3-D input inside a ModuleList (`blocks.N.proj`, every transformer), a Sequential
// inside a module (`enc.conv.0`). Judged by torch itself: the converted state_dict loads with
// strict=True and the model computes what the exported one did.
const MODEL = String.raw`
import sys, torch
class Block(torch.nn.Module):
    def __init__(self):
        super().__init__(); self.proj = torch.nn.Linear(6, 6); self.norm = torch.nn.LayerNorm(6)
    def forward(self, x): return self.norm(x + self.proj(x))
class Enc(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(6, 6, batch_first=True)
        self.conv = torch.nn.Sequential(torch.nn.Conv1d(6, 6, 1), torch.nn.BatchNorm1d(6))
    def forward(self, x):
        y, _ = self.rnn(x); return self.conv(y.transpose(1, 2)).transpose(1, 2)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = Enc(); self.blocks = torch.nn.ModuleList([Block() for _ in range(3)]); self.head = torch.nn.Linear(6, 2)
    def forward(self, x):
        x = self.enc(x)
        for b in self.blocks: x = b(x)
        return self.head(x)
`;

const MAKE = String.raw`
torch.manual_seed(0)
m = M()
if sys.argv[3] == "trained":
    with torch.no_grad():
        for p in m.parameters(): p.uniform_(-1, 1)   # no two weights alike
        bn = m.enc.conv[1]; bn.running_mean.uniform_(-1, 1); bn.running_var.uniform_(0.5, 2)
# else freshly initialised: the exporter merges the equal LayerNorm/BatchNorm weights (Identity nodes)
m.eval()
x = torch.randn(2, 5, 6)
torch.save({"state": m.state_dict(), "x": x}, sys.argv[1] + "/model.pt")
mode = torch.onnx.TrainingMode.PRESERVE if sys.argv[2] == "preserve" else torch.onnx.TrainingMode.EVAL
torch.onnx.export(m, (x,), sys.argv[1] + "/model.onnx", training=mode)
`;

const CHECK = String.raw`
import json
saved = torch.load(sys.argv[1] + "/model.pt")
converted = torch.load(sys.argv[1] + "/converted.pth", weights_only=True)
m = M(); m.eval(); m.load_state_dict(saved["state"])
n = M(); n.eval(); n.load_state_dict(converted, strict=True)
with torch.no_grad():
    a, b = m(saved["x"]), n(saved["x"])
print(json.dumps({"keys": sorted(converted) == sorted(saved["state"]), "max": float((a - b).abs().max())}))
`;

describe.skipIf(!hasPythonModules("torch", "onnx") || !existsSync(CLI))("onnx2torch: full module paths of exporter-named weights", () => {
  it.each(["trained", "fresh"])(
    "%s model: enc.rnn, enc.conv.0 and blocks.N.proj on 3-D input come back under their own names; strict load, same outputs",
    (weights) => {
      const dir = mkdtempSync(join(tmpdir(), "wb-onnx-scope-"));
      runPython(MODEL + MAKE, [dir, "preserve", weights]);
      const r = runCli(["convert", join(dir, "model.onnx"), join(dir, "converted.pth"), "--map", "onnx2torch", "--strict"]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(runPython(MODEL + CHECK, [dir]))).toEqual({ keys: true, max: 0 });
    },
  );

  it("a default export (BatchNorm folded into the Conv) is refused with the re-export to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-onnx-scope-"));
    runPython(MODEL + MAKE, [dir, "eval", "trained"]);
    const r = runCli(["convert", join(dir, "model.onnx"), join(dir, "converted.pth"), "--map", "onnx2torch"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/folds every BatchNorm into the Conv/);
    expect(r.stderr).toMatch(/training=torch\.onnx\.TrainingMode\.PRESERVE/);
    expect(r.stderr).toMatch(/do_constant_folding=False does not keep them/);
    expect(existsSync(join(dir, "converted.pth"))).toBe(false);
  });
});
