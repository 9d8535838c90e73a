import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { read } from "../../src/api/open.js";
import { computeReference } from "../../src/verify/check.js";
import { sideOf } from "../../src/verify/pairing.js";

// The PyTorch-side reference layers against real torch modules with random weights: torch
// computes each module on an input laid out as the reference's canonical input (batch-first,
// channels-first), our reference computes it from the saved state_dict alone.
const MAKE = String.raw`
import sys, json, torch, torch.nn as nn
torch.manual_seed(0)
class Sep(nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(3, 6, 3, groups=3)
        self.pointwise = nn.Conv2d(6, 4, 1)
    def forward(self, x):
        return self.pointwise(self.depthwise(x))
mods = {
    "fc": (nn.Linear(6, 5), "linear", {}),
    "fc_nobias": (nn.Linear(4, 3, bias=False), "linear", {}),
    "conv1": (nn.Conv1d(3, 4, 2), "conv1d", {}),
    "conv2": (nn.Conv2d(3, 4, (3, 2)), "conv2d", {}),
    "gconv": (nn.Conv2d(4, 6, 3, groups=2), "conv2d", {"groups": 2}),
    "conv3": (nn.Conv3d(2, 3, 2), "conv3d", {}),
    "dw": (nn.Conv2d(3, 6, 3, groups=3), "depthwise_conv2d", {"groups": 3}),
    "sep": (Sep(), "separable_conv2d", {"groups": 3}),
    "up1": (nn.ConvTranspose1d(3, 2, 3), "conv_transpose1d", {}),
    "up2": (nn.ConvTranspose2d(4, 3, 2), "conv_transpose2d", {}),
    "gup2": (nn.ConvTranspose2d(4, 6, 2, groups=2), "conv_transpose2d", {"groups": 2}),
    "bn": (nn.BatchNorm1d(5, eps=1e-3), "batchnorm", {"eps": 1e-3}),
    "ln": (nn.LayerNorm(6), "layernorm", {}),
    "emb": (nn.Embedding(7, 3), "embedding", {}),
    "lstm": (nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True), "lstm", {}),
    "gru": (nn.GRU(4, 3, num_layers=2, batch_first=True), "gru", {}),
    "bigru": (nn.GRU(3, 2, bidirectional=True, batch_first=True), "gru", {}),
    "rnn": (nn.RNN(4, 3, batch_first=True), "rnn", {}),
    "rnn_relu": (nn.RNN(4, 3, nonlinearity="relu", batch_first=True), "rnn", {"nonlinearity": "relu"}),
    "mha": (nn.MultiheadAttention(8, 2, batch_first=True), "mha", {"num_heads": 2}),
}
sd = {}
cases = {}
with torch.no_grad():
    for name, (m, kind, attrs) in mods.items():
        for p in m.parameters(): p.copy_(torch.randn_like(p) * 0.5)
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(5)); m.running_var.copy_(torch.rand(5) + 0.5)
        m.eval()
        for k, v in m.state_dict().items(): sd[f"{name}.{k}"] = v
        if kind == "linear": x = torch.randn(2, m.in_features); y = m(x)
        elif kind in ("batchnorm", "layernorm"): x = torch.randn(3, 5 if kind == "batchnorm" else 6) * 2; y = m(x)
        elif kind == "embedding": x = None; y = m(torch.arange(7))
        elif kind in ("lstm", "gru", "rnn"): x = torch.randn(2, 3, m.input_size); y = m(x)[0]
        elif kind == "mha": x = torch.randn(1, 3, 8); y = m(x, x, x, need_weights=False)[0]
        else:
            conv = m.depthwise if name == "sep" else m
            k = list(conv.kernel_size)
            x = torch.randn(1, conv.in_channels, *[n + 2 for n in k]); y = m(x)
        cases[name] = {"kind": kind, "attrs": attrs, "x": None if x is None else x.flatten().tolist(), "y": y.flatten().tolist()}
torch.save(sd, sys.argv[1])
json.dump(cases, open(sys.argv[2], "w"))
`;

interface Case {
  kind: string;
  attrs: Record<string, unknown>;
  x: number[] | null;
  y: number[];
}

describe.skipIf(!hasPythonModules("torch"))("PyTorch reference layers against torch", () => {
  it("every layer kind computes what the torch module computes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-verify-torch-"));
    runPython(MAKE, [join(dir, "m.pt"), join(dir, "cases.json")]);
    const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as Record<string, Case>;
    const checkpoint = await read(join(dir, "m.pt"));
    const worst: Record<string, number> = {};
    try {
      for (const [name, c] of Object.entries(cases)) {
        const tensors = checkpoint.tensors.filter((t) => t.name.startsWith(`${name}.`));
        const side = sideOf(tensors, "pytorch", c.attrs);
        const { output, input } = await computeReference(c.kind, side, c.x ? Float64Array.from(c.x) : undefined);
        if (c.kind === "embedding") {
          // Rows of the ids the plan picked, out of torch's lookups of every id.
          expect(input.length).toBe(0);
        }
        const expected = c.kind === "embedding" ? c.y.slice(0, output.length) : c.y;
        if (c.kind !== "embedding") expect(output.length, name).toBe(expected.length);
        expect(Math.max(...Array.from(expected, Math.abs)), `${name}: a non-trivial output`).toBeGreaterThan(0.05);
        let err = 0;
        if (c.kind === "embedding") {
          // The plan's ids start with 0 and the last id: compare those rows.
          const dim = 3;
          for (let d = 0; d < dim; d++) err = Math.max(err, Math.abs(output[d]! - c.y[d]!), Math.abs(output[dim + d]! - c.y[6 * dim + d]!));
        } else {
          for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(output[i]! - expected[i]!));
        }
        worst[name] = err;
      }
    } finally {
      await checkpoint.close();
    }
    for (const [name, err] of Object.entries(worst)) expect(err, `${name}: max |Δ| ${err}`).toBeLessThan(1e-5);
  });
});
