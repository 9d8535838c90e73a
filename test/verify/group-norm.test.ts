import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { convert } from "../../src/api/convert.js";
import { verify } from "../../src/api/verify.js";
import { expectReferenceMatchesTorch } from "../helpers/reference-vs-torch.js";

// GroupNorm, the worked example of adding a layer kind end to end: its reference computes what
// torch.nn.GroupNorm computes from the saved weights alone, and a whole-model torch file with a
// GroupNorm converted to Keras verifies layer by layer (the group count comes from the pickle).
const MAKE = String.raw`
import sys, json, torch, torch.nn as nn
torch.manual_seed(0)
gn = nn.GroupNorm(3, 6, eps=1e-5)
with torch.no_grad():
    gn.weight.copy_(torch.randn(6) * 0.5 + 1); gn.bias.copy_(torch.randn(6) * 0.5)
gn.eval()
x = torch.randn(2, 6, 5) * 2
y = gn(x)
torch.save(gn.state_dict(), sys.argv[1])
model = nn.Sequential(nn.Conv1d(2, 6, 3), nn.GroupNorm(2, 6))
torch.save(model, sys.argv[3])
json.dump({"x": x.flatten().tolist(), "y": y.detach().flatten().tolist()}, open(sys.argv[2], "w"))
`;

describe.skipIf(!hasPythonModules("torch"))("GroupNorm", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-groupnorm-"));
  runPython(MAKE, [join(dir, "gn.pt"), join(dir, "case.json"), join(dir, "model.pt")]);

  it("the reference computes what torch.nn.GroupNorm computes", async () => {
    await expectReferenceMatchesTorch("groupnorm", join(dir, "gn.pt"), join(dir, "case.json"), { num_groups: 3, eps: 1e-5 });
  });

  it("a torch model with a GroupNorm converted to Keras verifies, the group count read from the pickle", async () => {
    const out = join(dir, "model.h5");
    await convert(join(dir, "model.pt"), out, { map: "torch2keras", force: true });
    const outcome = await verify(join(dir, "model.pt"), out, { map: "torch2keras" });
    const row = outcome.rows.find((r) => r.kind === "groupnorm");
    expect(row?.verdict, JSON.stringify(row)).toBe("agrees");
    expect(outcome.ok).toBe(true);
  });
});
