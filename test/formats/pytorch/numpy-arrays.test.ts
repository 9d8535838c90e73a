import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { runCli } from "../../helpers/cli.js";

// Issue 27: numpy arrays saved with torch.save (allennlp's align.pth is one float64 [32, 32]
// array; checkpoints hold arrays beside tensors) read as 0 tensors, exit 0. They are tensors.
const MAKE = String.raw`
import sys, torch, numpy as np
d = sys.argv[1]
torch.save(np.arange(1024, dtype=np.float64).reshape(32, 32) / 7, d + "/align.pth")
mixed = {"w": torch.arange(6.0).reshape(2, 3), "arr": np.arange(6, dtype=np.int32).reshape(2, 3), "half": np.linspace(0, 1, 5).astype(np.float16),
         "fortran": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)), "big": np.arange(4, dtype=">i8"), "flag": np.array([True, False])}
torch.save(mixed, d + "/mixed.pt")
torch.save(mixed, d + "/mixed-legacy.pt", _use_new_zipfile_serialization=False)
`;

// The converted .pt, loaded by torch (weights_only): each array's values as numpy has them.
const CHECK = String.raw`
import sys, json, torch, numpy as np
src = torch.load(sys.argv[1], weights_only=False); out = torch.load(sys.argv[2], weights_only=True)
if not isinstance(src, dict): src, out = {"": src}, {"": out[""] if isinstance(out, dict) else out}
print(json.dumps({k: bool(np.array_equal(np.asarray(v if not torch.is_tensor(v) else v.numpy()), out[k].numpy())) for k, v in src.items()}))
`;

describe.skipIf(!hasPythonModules("torch", "numpy"))("numpy arrays inside torch.save files", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-torch-numpy-"));
  beforeAll(() => void runPython(MAKE, [dir]));

  it("a bare array (align.pth) is one float64 [32, 32] tensor", () => {
    const r = runCli(["inspect", join(dir, "align.pth"), "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).tensors).toEqual([{ name: "", dtype: "float64", shape: [32, 32] }]);
  });

  for (const file of ["mixed.pt", "mixed-legacy.pt"]) {
    it(`${file}: arrays beside tensors (int32, float16, Fortran order, big-endian, bool) convert with their values`, () => {
      const inspect = JSON.parse(runCli(["inspect", join(dir, file), "--json"]).stdout) as { tensors: Array<{ name: string; dtype: string }> };
      expect(inspect.tensors.map((t) => `${t.name}:${t.dtype}`)).toEqual([
        "w:float32",
        "arr:int32",
        "half:float16",
        "fortran:float32",
        "big:int64",
        "flag:bool",
      ]);
      const out = join(dir, `${file}.out.pt`);
      const r = runCli(["convert", join(dir, file), out]);
      expect(r.code, r.stderr).toBe(0);
      const same = JSON.parse(runPython(CHECK, [join(dir, file), out])) as Record<string, boolean>;
      expect(same).toEqual({ w: true, arr: true, half: true, fortran: true, big: true, flag: true });
    });
  }
});
