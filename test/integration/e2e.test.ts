import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";

// Whole conversions through the built CLI and the real formats, checked by the real consumers
// (h5py for Keras HDF5, pickle + numpy for .pdparams, torch for the way back).
const MAKE = String.raw`
import sys, torch
torch.manual_seed(0)
m = torch.nn.Sequential(
    torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 5))
m.train(); m(torch.randn(2, 3, 6, 6)); m.eval()
torch.save(m.state_dict(), sys.argv[1])
`;

const CHECK_H5 = String.raw`
import sys, json, h5py, torch, numpy as np
sd = torch.load(sys.argv[1])
f = h5py.File(sys.argv[2], "r")
names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
ok = {
  "layers": names == ["0", "1", "4"],
  # Flatten → Linear: Keras' rows are in (H, W, C) order, torch's in (C, H, W)
  "kernel": bool(np.array_equal(f["4/4/kernel:0"][()], sd["4.weight"].reshape(5, 4, 4, 4).permute(0, 2, 3, 1).reshape(5, 64).numpy().T)),
  "conv": bool(np.array_equal(f["0/0/kernel:0"][()], sd["0.weight"].numpy().transpose(2, 3, 1, 0))),
  "bn": bool(np.array_equal(f["1/1/moving_variance:0"][()], sd["1.running_var"].numpy())),
}
print(json.dumps(ok))
`;

const CHECK_PDPARAMS = String.raw`
import sys, json, pickle, torch, numpy as np
sd = torch.load(sys.argv[1])
p = pickle.load(open(sys.argv[2], "rb"))
ok = {
  # Side tables end in @@: the name table and the BatchNorm counters Paddle has no tensor for.
  "keys": sorted(k for k in p if not k.endswith("@@")) == sorted(["0.weight", "0.bias", "1.weight", "1.bias", "1._mean", "1._variance", "4.weight", "4.bias"]),
  "counters": p["num_batches_tracked@@"] == {"1.num_batches_tracked": int(sd["1.num_batches_tracked"])},
  "linear": bool(np.array_equal(p["4.weight"], sd["4.weight"].numpy().T)),
  "conv": bool(np.array_equal(p["0.weight"], sd["0.weight"].numpy())),
  "mean": bool(np.array_equal(p["1._mean"], sd["1.running_mean"].numpy())),
}
print(json.dumps(ok))
`;

describe.skipIf(!hasPythonModules("torch", "h5py", "numpy") || !existsSync(CLI))("convert --map between real formats", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-map-e2e-"));
  const pt = join(dir, "model.pt");

  it("torch .pt → Keras .h5 (torch2keras) → .pt (keras2torch): h5py sees Keras layouts; the way back is bit-exact", () => {
    runPython(MAKE, [pt]);
    const h5 = join(dir, "model.h5");
    // A bare state_dict cannot say what a Flatten fed the Linear (issue 15): --layer says it.
    const r = runCli(["convert", pt, h5, "--map", "torch2keras", "--layer", "^4\\.=linear(flatten=4,4,4)", "--report", join(dir, "r.json")]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(runPython(CHECK_H5, [pt, h5]))).toEqual({ layers: true, kernel: true, conv: true, bn: true });
    const back = join(dir, "back.pt");
    expect(runCli(["convert", h5, back, "--map", "keras2torch", "--layer", "^4/=linear(flatten=4,4,4)"]).code).toBe(0);
    // Keras has no batch counter: it comes back as 0, everything else bit-exact.
    const d = runCli(["diff", pt, back, "--json"]);
    const result = JSON.parse(d.stdout);
    expect(result.onlyInA).toEqual([]);
    expect(result.onlyInB).toEqual([]);
    expect(result.tensors.filter((t: { status: string }) => t.status !== "equal").map((t: { name: string }) => t.name)).toEqual(["1.num_batches_tracked"]);
  });

  it("torch .pt → .pdparams (torch2paddle) → .pt (paddle2torch): pickle sees Paddle layouts; the way back is bit-exact", () => {
    if (!existsSync(pt)) runPython(MAKE, [pt]);
    const pd = join(dir, "model.pdparams");
    const r = runCli(["convert", pt, pd, "--map", "torch2paddle"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(runPython(CHECK_PDPARAMS, [pt, pd]))).toEqual({ keys: true, counters: true, linear: true, conv: true, mean: true });
    const back = join(dir, "back2.pt");
    expect(runCli(["convert", pd, back, "--map", "paddle2torch"]).code).toBe(0);
    const d = runCli(["diff", pt, back, "--json"]);
    const result = JSON.parse(d.stdout);
    // The BatchNorm counter rides in the .pdparams' side table (issue 27), so nothing differs.
    expect(result.tensors.filter((t: { status: string }) => t.status !== "equal").map((t: { name: string }) => t.name)).toEqual([]);
    expect(d.code, d.stderr).toBe(0);
    expect(result.onlyInA.length + result.onlyInB.length).toBe(0);
  });
});
