import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { runCli } from "../../helpers/cli.js";
import { convert, read } from "../../../src/index.js";

// Issue 27, "nothing lost without a record", PyTorch: tensors the reader passes over (the state
// of a pickled object of a class it does not read, a set, a module's tensors outside its
// state_dict) are listed in the report's `dropped`; convert refuses unless --allow-drop (or
// --keep-unmapped), except for known non-weights (a non-persistent buffer, a plain attribute).
const MAKE = String.raw`
import sys, torch, numpy as np
d = sys.argv[1]
class Holder:  # a plain object (a scaler, a tokenizer) that keeps arrays
    def __init__(self):
        self.mean = np.arange(4, dtype=np.float32)
        self.proj = torch.ones(2, 2)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
        self.register_buffer("cache", torch.zeros(3), persistent=False)
        self.scale = torch.ones(1)
objects = {"fc.weight": torch.arange(6.0).reshape(2, 3), "holder": Holder(), "ids": {torch.zeros(1)}}
torch.save(objects, d + "/objects.pt")
torch.save(objects, d + "/objects-legacy.pt", _use_new_zipfile_serialization=False)
torch.save(Net(), d + "/net.pt")
torch.save({"w": torch.ones(2), "m": torch.empty(3, device="meta")}, d + "/meta.pt")
`;

const CHECK = String.raw`
import sys, json, torch
print(json.dumps({k: type(v).__name__ for k, v in torch.load(sys.argv[1], weights_only=True).items()}))
`;

const LOST = ["holder.mean", "holder.proj", "ids.0"];

describe.skipIf(!hasPythonModules("torch", "numpy"))("torch tensors the reader does not read are recorded (issue 27)", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-torch-unread-"));
  beforeAll(() => void runPython(MAKE, [dir]));

  for (const file of ["objects.pt", "objects-legacy.pt"]) {
    it(`${file}: read lists what it passed over, with why`, async () => {
      const checkpoint = await read(join(dir, file));
      try {
        expect(checkpoint.tensors.map((t) => t.name)).toEqual(["fc.weight"]);
        expect(checkpoint.skipped).toEqual([
          { name: "holder.mean", why: "held by a pickled __main__.Holder object, which is not read" },
          { name: "holder.proj", why: "held by a pickled __main__.Holder object, which is not read" },
          { name: "ids.0", why: "in a container that is not read (a set)" },
        ]);
      } finally {
        await checkpoint.close();
      }
    });
  }

  it("CLI: convert refuses naming them; --allow-drop and --keep-unmapped convert and list them as dropped", () => {
    const input = join(dir, "objects.pt");
    const refused = runCli(["convert", input, join(dir, "o.safetensors")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "3 tensor(s) of the input cannot be represented and would be lost: 'holder.mean' (held by a pickled __main__.Holder object, which is not read)",
    );
    expect(refused.stderr).toContain("pass --allow-drop");
    for (const flag of ["--allow-drop", "--keep-unmapped"]) {
      const report = join(dir, `o${flag}.json`);
      const r = runCli(["convert", input, join(dir, `o${flag}.pt`), flag, "--report", report]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(readFileSync(report, "utf8")).dropped).toEqual(LOST);
      // torch loads it (weights_only); the nesting stays, the objects' tensors are the dropped ones.
      expect(JSON.parse(runPython(CHECK, [join(dir, `o${flag}.pt`)]))).toEqual({ "fc.weight": "Tensor", holder: "dict", ids: "list" });
    }
  });

  it("CLI batch: --allow-drop is passed to each conversion", () => {
    const inputs = [join(dir, "objects.pt"), join(dir, "objects-legacy.pt")];
    const refused = runCli(["convert", ...inputs, join(dir, "batch-refused"), "--to", "safetensors"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("converted 0 of 2 file(s)");
    const allowed = runCli(["convert", ...inputs, join(dir, "batch-allowed"), "--to", "safetensors", "--allow-drop"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain("converted 2 of 2 file(s)");
  });

  it("library: convert refuses, allowDrop lists the losses; --select keeps only the selected part's", async () => {
    const input = join(dir, "objects.pt");
    await expect(convert(input, join(dir, "lib.safetensors"))).rejects.toThrow(/3 tensor\(s\) of the input cannot be represented/);
    const report = await convert(input, join(dir, "lib.safetensors"), { allowDrop: true });
    expect(report.dropped).toEqual(LOST);
    const selected = await convert(input, join(dir, "holder.safetensors"), { select: "fc.weight" });
    expect(selected.dropped).toEqual([]);
  });

  it("a meta tensor (a shape without values) is listed as dropped, not refused", async () => {
    const report = await convert(join(dir, "meta.pt"), join(dir, "meta.safetensors"));
    expect(report.dropped).toEqual(["m"]);
  });

  it("a whole model: its non-persistent buffer and plain tensor attribute are known non-weights, dropped with a record, exit 0", () => {
    const report = join(dir, "net.json");
    const out = join(dir, "net.safetensors");
    const r = runCli(["convert", join(dir, "net.pt"), out, "--report", report]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(report, "utf8")).dropped).toEqual(["cache", "scale"]);
    expect(JSON.parse(runCli(["inspect", out, "--json"]).stdout).tensors.map((t: { name: string }) => t.name)).toEqual(["fc.weight", "fc.bias"]);
  });
});
