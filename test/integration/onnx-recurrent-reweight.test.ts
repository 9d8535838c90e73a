import { describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hasPythonModules } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";
import { makeCase, relativeError, runOnnx } from "./onnx-reweight-helpers.js";

// torch.onnx.export turns nn.LSTM/GRU/RNN into one ONNX node per layer whose W, R and B
// initializers stack the directions, reorder the gates (torch ifgo → ONNX iofc, rzn → zrn) and
// concatenate bias_ih with bias_hh; a Linear on 3-D input becomes MatMul with its weight
// transposed. Re-weighting such a graph with a torch state_dict must build all of them.
const MODEL = String.raw`
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
`;

describe.skipIf(!hasPythonModules("torch", "onnx") || !existsSync(CLI))("ONNX re-weighting: LSTM, GRU and RNN graphs", () => {
  it("stacked bidirectional LSTM, bidirectional GRU, 2-layer RNN and a MatMul Linear all take the new weights, --strict", async () => {
    const c = makeCase({ model: MODEL, input: [6, 2, 4], template: "trained", mode: "eval" });
    const out = join(c.dir, "out.onnx");
    const r = runCli(["convert", c.weights, out, "--template", c.template, "--strict"]);
    expect(r.code, r.stderr).toBe(0);
    expect(relativeError(await runOnnx(out, c.input), c.expected)).toBeLessThan(1e-4);
    expect(relativeError(c.templateOutput, c.expected)).toBeGreaterThan(0.1);
  });
});
