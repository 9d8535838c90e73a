import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { read } from "../../src/api/open.js";
import { convert } from "../../src/api/convert.js";
import { verify } from "../../src/api/verify.js";
import { expectReferenceMatchesTorch } from "../helpers/reference-vs-torch.js";

// InstanceNorm, the kind added end to end after the layer vocabulary (docs/adding-a-layer-kind.md):
// its reference computes what torch.nn.InstanceNorm1d computes from the saved weights alone, and a
// whole-model torch file with an InstanceNorm2d converted to Paddle verifies layer by layer
// (torch's weight becomes Paddle's scale; ε comes from the pickle).
const MAKE = String.raw`
import sys, json, torch, torch.nn as nn
torch.manual_seed(0)
norm = nn.InstanceNorm1d(6, eps=1e-5, affine=True)
with torch.no_grad():
    norm.weight.copy_(torch.randn(6) * 0.5 + 1); norm.bias.copy_(torch.randn(6) * 0.5)
norm.eval()
x = torch.randn(2, 6, 5) * 2
y = norm(x)
torch.save(norm.state_dict(), sys.argv[1])
json.dump({"x": x.flatten().tolist(), "y": y.detach().flatten().tolist()}, open(sys.argv[2], "w"))
model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.InstanceNorm2d(4, affine=True, eps=1e-4))
with torch.no_grad():
    model[1].weight.copy_(torch.randn(4)); model[1].bias.copy_(torch.randn(4))
torch.save(model, sys.argv[3])
tracking = nn.Sequential(nn.InstanceNorm2d(4, affine=True, track_running_stats=True))
torch.save(tracking, sys.argv[4])
`;

describe.skipIf(!hasPythonModules("torch"))("InstanceNorm", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-instancenorm-"));
  runPython(MAKE, [join(dir, "in.pt"), join(dir, "case.json"), join(dir, "model.pt"), join(dir, "tracking.pt")]);

  it("the reference computes what torch.nn.InstanceNorm1d computes", async () => {
    await expectReferenceMatchesTorch("instancenorm", join(dir, "in.pt"), join(dir, "case.json"), { eps: 1e-5 });
  });

  it("a torch model with an InstanceNorm2d converted to Paddle verifies (weight → scale)", async () => {
    const out = join(dir, "model.pdparams");
    await convert(join(dir, "model.pt"), out, { map: "torch2paddle", force: true });
    const converted = await read(out);
    try {
      expect(converted.tensors.map((t) => t.name)).toEqual(["0.weight", "0.bias", "1.scale", "1.bias"]);
    } finally {
      await converted.close();
    }
    const outcome = await verify(join(dir, "model.pt"), out, { map: "torch2paddle" });
    const row = outcome.rows.find((r) => r.kind === "instancenorm");
    expect(row?.verdict, JSON.stringify(row)).toBe("agrees");
    expect(outcome.ok).toBe(true);
  });

  it("a layer that tracks running statistics is not checkable (eval mode uses them), and says so", async () => {
    const out = join(dir, "tracking.pdparams");
    await convert(join(dir, "tracking.pt"), out, { map: "torch2paddle", force: true });
    const outcome = await verify(join(dir, "tracking.pt"), out, { map: "torch2paddle" });
    const row = outcome.rows.find((r) => r.kind === "instancenorm");
    expect(row?.verdict).toBe("not-checkable");
    expect(row?.reason).toMatch(/tracks running statistics/);
  });
});
