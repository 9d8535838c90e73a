import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { convert } from "../../src/api/convert.js";
import { verify } from "../../src/api/verify.js";

// torch's ONNX export folds an eval-mode BatchNorm into the Conv before it; re-weighting that
// graph folds the new BatchNorm the same way. verify checks the fold as Conv then BatchNorm on
// the source side against the one Conv of the output.
const MAKE = String.raw`
import sys, torch, torch.nn as nn
torch.manual_seed(0)
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv2d(3, 4, 3); s.bn = nn.BatchNorm2d(4); s.fc = nn.Linear(64, 5)
    def forward(s, x): return s.fc(torch.flatten(s.bn(s.conv(x)), 1))
m = M().eval()
with torch.no_grad():
    m.bn.running_mean.uniform_(-1, 1); m.bn.running_var.uniform_(0.05, 0.2); m.bn.weight.uniform_(-1, 1)
torch.onnx.export(m, torch.randn(1, 3, 6, 6), sys.argv[1])
sd = {k: (v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v) for k, v in m.state_dict().items()}
torch.save(sd, sys.argv[2])
`;

describe.skipIf(!hasPythonModules("torch", "onnx"))("verify a BatchNorm folded into a Conv by ONNX re-weighting", () => {
  it("agrees with the right ε and disagrees when the fold used another", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-verify-fold-"));
    const [template, weights] = [join(dir, "m.onnx"), join(dir, "m.pt")];
    runPython(MAKE, [template, weights]);
    const good = await convert(weights, join(dir, "good.onnx"), { template, verify: true });
    const row = good.verification!.rows.find((r) => r.layer === "conv + bn")!;
    expect(row).toMatchObject({ verdict: "agrees", kind: "conv2d + batchnorm" });
    expect(row.maxRel!).toBeLessThan(1e-6);
    expect(good.verification!.ok).toBe(true);
    // Folded with ε = 1e-2 where the model's BatchNorm has PyTorch's default 1e-5.
    await convert(weights, join(dir, "bad.onnx"), { template, layers: ["^bn\\.=batchnorm(eps=1e-2)"] });
    const bad = await verify(weights, join(dir, "bad.onnx"), { template });
    expect(bad.rows.find((r) => r.layer === "conv + bn")!.verdict).toBe("disagrees");
    expect(bad.ok).toBe(false);
  });
});
