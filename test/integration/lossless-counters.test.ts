import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";

// Issue 27 item 5: torch → Paddle → torch kept every weight but reset the 20 BatchNorm
// num_batches_tracked counters of a ResNet-18 to 0, and diff said only "20 of 122 differ".
const MAKE = String.raw`
import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=10); m.train()
with torch.no_grad():
    for _ in range(5): m(torch.randn(2, 3, 32, 32))
d = sys.argv[1]
torch.save(m.state_dict(), d + "/r18.pt")
sd = m.state_dict()
for k in sd:
    if k.endswith("num_batches_tracked"): sd[k] = torch.zeros_like(sd[k])
torch.save(sd, d + "/r18-zeroed.pt")
`;

// paddle.load is pickle + numpy: the counters ride along as a plain dict beside the name table;
// the round-tripped state_dict loads into torchvision's model and every tensor is the original's.
const CHECK = String.raw`
import sys, json, pickle, torch, torchvision
d = sys.argv[1]
pd = pickle.load(open(d + "/r18.pdparams", "rb"))
a = torch.load(d + "/r18.pt", weights_only=True); b = torch.load(d + "/back.pt", weights_only=True)
m = torchvision.models.resnet18(num_classes=10); m.load_state_dict(b)
print(json.dumps({"carried": pd["num_batches_tracked@@"]["layer4.1.bn2.num_batches_tracked"],
                  "same": all(torch.equal(a[k], b[k]) for k in a) and list(a) == list(b),
                  "counters": sorted({int(v) for k, v in b.items() if k.endswith("num_batches_tracked")})}))
`;

describe.skipIf(!hasPythonModules("torch", "torchvision", "numpy"))("BatchNorm counters through Paddle (issue 27 item 5)", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-counters-"));
  beforeAll(() => void runPython(MAKE, [dir]));

  it("torch → Paddle keeps the counters in the .pdparams' metadata (not dropped), Paddle → torch restores them: the round trip is bit-exact", () => {
    const report = join(dir, "report.json");
    const there = runCli(["convert", join(dir, "r18.pt"), join(dir, "r18.pdparams"), "--map", "torch2paddle", "--report", report]);
    expect(there.code, there.stderr).toBe(0);
    expect(JSON.parse(readFileSync(report, "utf8")).dropped).toEqual([]);
    const back = runCli(["convert", join(dir, "r18.pdparams"), join(dir, "back.pt"), "--map", "paddle2torch"]);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(runPython(CHECK, [dir]))).toEqual({ carried: 5, same: true, counters: [5] });
    const d = runCli(["diff", join(dir, "r18.pt"), join(dir, "back.pt")]);
    expect(d.code).toBe(0);
  });

  it("diff names the cause when only the counters differ", () => {
    const d = runCli(["diff", join(dir, "r18.pt"), join(dir, "r18-zeroed.pt")]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain("why     20 of the differences are BatchNorm batch counters (num_batches_tracked, max difference 5)");
    const json = runCli(["diff", join(dir, "r18.pt"), join(dir, "r18-zeroed.pt"), "--json"]);
    expect(JSON.parse(json.stdout).causes).toHaveLength(1);
  });
});
