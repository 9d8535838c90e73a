import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";

// Real torch exports LSTM (stacked, bidirectional), GRU and RNN to ONNX, where their weights
// become W/R/B initializers with ONNX gate orders and exporter-made names; onnx2torch must give
// back exactly the model's state_dict: every key, no extra ones, every value bit-exact.
const MAKE = String.raw`
import sys, torch
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True)
        self.gru = torch.nn.GRU(10, 3, bidirectional=True)
        self.rnn = torch.nn.RNN(6, 2, num_layers=2)
        self.head = torch.nn.Linear(2, 1)
    def forward(self, x):
        y, _ = self.lstm(x)
        y, _ = self.gru(y)
        y, _ = self.rnn(y)
        return self.head(y)
m = M().eval()
torch.onnx.export(m, (torch.randn(6, 2, 4),), sys.argv[1], opset_version=14)
torch.save(m.state_dict(), sys.argv[2])
`;

const COMPARE = String.raw`
import sys, json, torch
a = torch.load(sys.argv[1]); b = torch.load(sys.argv[2], weights_only=True)
print(json.dumps({"missing": [k for k in a if k not in b], "extra": [k for k in b if k not in a],
                  "unequal": [k for k in a if k in b and not torch.equal(a[k], b[k])], "count": len(a)}))
`;

describe.skipIf(!hasPythonModules("torch") || !existsSync(CLI))("onnx2torch: recurrent layers from torch.onnx.export", () => {
  it("LSTM (2 layers, bidirectional), GRU (bidirectional) and RNN come back as the exact state_dict, --strict", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-onnx-rnn-"));
    const onnx = join(dir, "model.onnx");
    const original = join(dir, "sd.pt");
    runPython(MAKE, [onnx, original]);
    const out = join(dir, "out.pth");
    const report = join(dir, "report.json");
    const r = runCli(["convert", onnx, out, "--map", "onnx2torch", "--strict", "--report", report]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(runPython(COMPARE, [original, out]));
    expect(result).toEqual({ missing: [], extra: [], unequal: [], count: 34 });
    const tensors = JSON.parse(readFileSync(report, "utf8")).tensors as Array<{ target: string; rules: string[]; transforms: string[] }>;
    const reverse = tensors.find((t) => t.target === "lstm.weight_ih_l1_reverse")!;
    expect(reverse.rules).toEqual(["onnx2torch#lstm-W-bidirectional"]);
    expect(reverse.transforms.join(" ")).toMatch(/gates/);
  });
});
