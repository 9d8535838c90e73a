import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";
import { FIXTURES } from "../helpers/fixtures.js";

// Issue 15 case 8, quiet losses: each either computes right, or is said (warning / refusal).

// A Keras model.save file (h5py, Keras' layout): BatchNormalization(epsilon=1e-3) → Dense, small
// variances so ε matters. numpy computes Keras; torch computes the conversion with a given eps.
const KERAS_BN = String.raw`
import sys, json, h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(0)
w = {"bn": [("gamma", rng.standard_normal(4)), ("beta", rng.standard_normal(4)), ("moving_mean", rng.standard_normal(4)), ("moving_variance", rng.uniform(1e-4, 2e-3, 4))],
     "fc": [("kernel", rng.standard_normal((4, 3))), ("bias", rng.standard_normal(3))]}
cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "BatchNormalization", "config": {"name": "bn", "epsilon": 0.001, "axis": -1, "batch_input_shape": [None, 4]}},
    {"class_name": "Dense", "config": {"name": "fc", "units": 3}}]}}
f = h5py.File(out, "w")
f.attrs["model_config"] = json.dumps(cfg); f.attrs["keras_version"] = "2.15.0"; f.attrs["backend"] = "tensorflow"
g = f.create_group("model_weights"); g.attrs["layer_names"] = [b"bn", b"fc"]
for layer, ws in w.items():
    lg = g.create_group(layer); lg.attrs["weight_names"] = [f"{layer}/{n}:0".encode() for n, _ in ws]
    for n, v in ws: lg.create_dataset(f"{layer}/{n}:0", data=v.astype(np.float32))
`;

const CHECK_BN = String.raw`
import sys, json, h5py, numpy as np, torch
f = h5py.File(sys.argv[1], "r")["model_weights"]
v = lambda l, n: f[l][l][n + ":0"][()]
x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
keras = ((x - v("bn", "moving_mean")) / np.sqrt(v("bn", "moving_variance") + 1e-3) * v("bn", "gamma") + v("bn", "beta")) @ v("fc", "kernel") + v("fc", "bias")
out = {}
for eps in (1e-3, 1e-5):
    m = torch.nn.Sequential(torch.nn.BatchNorm1d(4, eps=eps), torch.nn.Linear(4, 3))
    m[0].load_state_dict({k[3:]: t for k, t in torch.load(sys.argv[2]).items() if k.startswith("bn.")})
    m[1].load_state_dict({k[3:]: t for k, t in torch.load(sys.argv[2]).items() if k.startswith("fc.")})
    y = m.eval()(torch.from_numpy(x)).detach().numpy()
    out[str(eps)] = float(np.abs(y - keras).max() / np.abs(keras).max())
print(json.dumps(out))
`;

describe.skipIf(!hasPythonModules("torch", "h5py", "numpy"))("quiet losses are said or refused (issue 15 case 8)", { timeout: 360_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-losses-"));

  it("BatchNorm ε: Keras' 1e-3 is named in the summary; torch built with it computes what Keras does", () => {
    const h5 = join(dir, "bn.h5");
    runPython(KERAS_BN, [h5]);
    const pt = join(dir, "bn.pt");
    const r = runCli(["convert", h5, pt, "--map", "keras2torch"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("BatchNorm ε: bn use ε=0.001, torch's default is 0.00001: build it with eps=0.001");
    const errors = JSON.parse(runPython(CHECK_BN, [h5, pt])) as Record<string, number>;
    expect(errors["0.001"]).toBeLessThan(1e-4);
    // What a user keeping torch's default gets, and what the line above prevents.
    expect(errors["1e-05"]).toBeGreaterThan(1e-2);
  });

  it("a GAN checkpoint into a single-model format is refused with a --select suggestion; --select converts one model", () => {
    const gan = join(FIXTURES, "pytorch/gan.pt");
    const r = runCli(["convert", gan, join(dir, "gan.h5"), "--map", "torch2keras"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the input holds 2 models (generator, discriminator)");
    expect(r.stderr).toContain("--select generator");
    const one = join(dir, "generator.h5");
    expect(runCli(["convert", gan, one, "--map", "torch2keras", "--select", "generator"]).code).toBe(0);
    const names = JSON.parse(runCli(["inspect", one, "--json"]).stdout).tensors.map((t: { name: string }) => t.name);
    expect(names).toEqual(["0/kernel:0", "0/bias:0"]);
    // A torch file may hold both side by side: no refusal there.
    expect(runCli(["convert", gan, join(dir, "gan-copy.pt")]).code).toBe(0);
  });

  it("--dtype float16 into keras-h5: the conversion says float32 is stored, inspect shows it, h5py agrees", () => {
    const pt = join(dir, "small.pt");
    runPython("import sys, torch; torch.manual_seed(0); torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)).state_dict(), sys.argv[1])", [pt]);
    const h5 = join(dir, "half.h5");
    const r = runCli(["convert", pt, h5, "--map", "torch2keras", "--dtype", "float16"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("2 float16 tensor(s) are stored as float32");
    const inspect = runCli(["inspect", h5]).stdout;
    expect(inspect).toMatch(/kernel:0\s+float16 \(stored float32\)\s+\[3, 2\]\s+24 B/);
    const json = JSON.parse(runCli(["inspect", h5, "--json"]).stdout);
    expect(json.tensors[0]).toMatchObject({ dtype: "float16", stored: "float32" });
    const stored = runPython(
      String.raw`
import sys, h5py, torch, numpy as np
ds = h5py.File(sys.argv[1], "r")["0"]["0"]["kernel:0"]
print(ds.dtype, bool(np.array_equal(ds[()], torch.load(sys.argv[2])["0.weight"].half().float().numpy().T)))
`,
      [h5, pt],
    ).trim();
    expect(stored).toBe("float32 True");
  });

  it("between frameworks without --map the conversion says which preset fits", () => {
    const pt = join(dir, "small.pt");
    const r = runCli(["convert", pt, join(dir, "nomap.h5")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "pytorch → keras-h5 without --map: the tensors keep torch's names and layouts, which keras does not load as its own; --map torch2keras converts them",
    );
  });

  it("tensors no preset rule places: known non-weights are dropped with a report line, anything else fails naming --keep-unmapped", () => {
    const pt = join(dir, "extras.pt");
    runPython(
      String.raw`
import sys, torch
torch.manual_seed(0)
sd = dict(torch.nn.Sequential(torch.nn.Linear(3, 2)).state_dict())
sd["metrics.accuracy"] = torch.tensor(0.9)
sd["0.mask"] = torch.ones(2, 3, 4)
torch.save(sd, sys.argv[1])
`,
      [pt],
    );
    const refused = runCli(["convert", pt, join(dir, "extras.h5"), "--map", "torch2keras"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("1 tensor(s) no rule of torch2keras places: 0.mask");
    expect(refused.stderr).toContain("--keep-unmapped");
    const report = join(dir, "extras.json");
    const kept = runCli(["convert", pt, join(dir, "extras.h5"), "--map", "torch2keras", "--keep-unmapped", "--report", report]);
    expect(kept.code).toBe(0);
    expect(kept.stderr).toContain("dropped 1 tensor(s) that are not model weights (metric): metrics.accuracy");
    const r = JSON.parse(readFileSync(report, "utf8"));
    expect(r.dropped).toEqual(["metrics.accuracy"]);
    expect(r.unmatched).toEqual(["0.mask"]);
  });
});
