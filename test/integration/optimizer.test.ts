import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";

// Optimizer state through the CLI with real torch on both ends (the mapping itself:
// test/mapping/optimizer.test.ts).
const MAKE = String.raw`
import sys, torch, pickle, numpy as np
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Flatten(), torch.nn.Linear(12, 4))
opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.85, 0.995)) if sys.argv[3] == "adamw" else torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
for _ in range(3):
    opt.zero_grad(); m(torch.randn(5, 2, 4, 4)).square().mean().backward(); opt.step()
torch.save({"epoch": 3, "model_state_dict": m.state_dict(), "optimizer_state_dict": opt.state_dict()}, sys.argv[1])
# What paddle.save writes for the same model (a .pdparams with its name table), as the template.
# BatchNorm2D's state_dict holds its running statistics (_mean, _variance) as paddle.save writes them.
sd = {"0.weight": m[0].weight, "0.bias": m[0].bias, "1.weight": m[1].weight, "1.bias": m[1].bias, "1._mean": m[1].running_mean, "1._variance": m[1].running_var,
      "3.weight": m[3].weight.t(), "3.bias": m[3].bias}
names = {"0.weight": "conv2d_0.w_0", "0.bias": "conv2d_0.b_0", "1.weight": "batch_norm2d_0.w_0", "1.bias": "batch_norm2d_0.b_0",
         "1._mean": "batch_norm2d_0.w_1", "1._variance": "batch_norm2d_0.w_2", "3.weight": "linear_0.w_0", "3.bias": "linear_0.b_0"}
out = {k: v.detach().numpy().copy() for k, v in sd.items()}
out["StructuredToParameterName@@"] = names
pickle.dump(out, open(sys.argv[2], "wb"), protocol=4)
`;

const CHECK = String.raw`
import sys, json, math, pickle, torch, numpy as np
c = torch.load(sys.argv[1]); o = pickle.load(open(sys.argv[2], "rb"))
st = c["optimizer_state_dict"]["state"]
order = ["conv2d_0.w_0", "conv2d_0.b_0", "batch_norm2d_0.w_0", "batch_norm2d_0.b_0", "linear_0.w_0", "linear_0.b_0"]
ok = {}
if sys.argv[3] == "adamw":
    b1, b2 = c["optimizer_state_dict"]["param_groups"][0]["betas"]
    ok["keys"] = list(o.keys()) == [f"{p}_{a}_0" for p in order for a in ["moment1", "moment2", "beta1_pow_acc", "beta2_pow_acc"]]
    ok["moments"] = all(np.array_equal(o[f"{p}_moment1_0"], (st[i]["exp_avg"].t() if p == "linear_0.w_0" else st[i]["exp_avg"]).numpy())
                        and np.array_equal(o[f"{p}_moment2_0"], (st[i]["exp_avg_sq"].t() if p == "linear_0.w_0" else st[i]["exp_avg_sq"]).numpy()) for i, p in enumerate(order))
    ok["pows"] = all(o[f"{p}_beta1_pow_acc_0"].dtype == np.float32 and o[f"{p}_beta1_pow_acc_0"].shape == (1,)
                     and math.isclose(float(o[f"{p}_beta1_pow_acc_0"][0]), b1 ** (float(st[i]["step"]) + 1), rel_tol=1e-6)
                     and math.isclose(float(o[f"{p}_beta2_pow_acc_0"][0]), b2 ** (float(st[i]["step"]) + 1), rel_tol=1e-6) for i, p in enumerate(order))
else:
    ok["keys"] = list(o.keys()) == [f"{p}_velocity_0" for p in order]
    ok["velocity"] = all(np.array_equal(o[f"{p}_velocity_0"], (st[i]["momentum_buffer"].t() if p == "linear_0.w_0" else st[i]["momentum_buffer"]).numpy()) for i, p in enumerate(order))
print(json.dumps(ok))
`;

// The .pdopt converted back must be what torch's optimizer.load_state_dict takes, and training
// must continue exactly as from the original state.
const CHECK_BACK = String.raw`
import sys, json, copy, torch
c = torch.load(sys.argv[1]); back = torch.load(sys.argv[2])
def model():
    m = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Flatten(), torch.nn.Linear(12, 4))
    m.load_state_dict(c["model_state_dict"]); return m
def optimizer(m):
    return torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.85, 0.995)) if sys.argv[3] == "adamw" else torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
m1, m2 = model(), model()
o1, o2 = optimizer(m1), optimizer(m2)
o1.load_state_dict(c["optimizer_state_dict"])
o2.load_state_dict(back)
st1, st2 = o1.state_dict()["state"], o2.state_dict()["state"]
ok = {"same_keys": sorted(st1) == sorted(st2) and all(sorted(st1[i]) == sorted(st2[i]) for i in st1)}
ok["state_equal"] = all(torch.equal(st1[i][k], st2[i][k]) for i in st1 for k in st1[i])
# The hyperparameters a .pdopt does not hold are set again, as the warning tells users to.
for g1, g2 in zip(o1.param_groups, o2.param_groups):
    for k in g1:
        if k != "params": g2[k] = copy.deepcopy(g1[k])
torch.manual_seed(1); x = torch.randn(5, 2, 4, 4)
for m, o in ((m1, o1), (m2, o2)):
    o.zero_grad(); m(x).square().mean().backward(); o.step()
ok["next_step_equal"] = all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
print(json.dumps(ok))
`;

describe.skipIf(!hasPythonModules("torch", "numpy") || !existsSync(CLI))("convert ckpt.pt opt.pdopt --map torch2paddle --template model.pdparams", () => {
  for (const kind of ["adamw", "sgd"]) {
    it(`${kind}: a real torch training checkpoint's optimizer state lands as Paddle accumulators (checked with torch + pickle)`, () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-opt-"));
      const ckptPath = join(dir, "ckpt.pt");
      const template = join(dir, "model.pdparams");
      runPython(MAKE, [ckptPath, template, kind]);
      const pdopt = join(dir, "opt.pdopt");
      const reportPath = join(dir, "r.json");
      const r = runCli(["convert", ckptPath, pdopt, "--map", "torch2paddle", "--template", template, "--report", reportPath]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/optimizer state of 6 parameters \(optimizer_state_dict\) written as Paddle accumulators/);
      const checks = JSON.parse(runPython(CHECK, [ckptPath, pdopt, kind]));
      expect(
        Object.values(checks).every((v) => v === true),
        JSON.stringify(checks),
      ).toBe(true);
      expect(JSON.parse(readFileSync(reportPath, "utf8")).optimizer).toEqual({ from: "optimizer_state_dict", parameters: 6, written: true });
      // The same checkpoint to a .pdparams is the model, the optimizer state reported as left out.
      const model = join(dir, "model_out.pdparams");
      const m = runCli(["convert", ckptPath, model, "--map", "torch2paddle", "--template", template]);
      expect(m.code, m.stderr).toBe(0);
      expect(m.stderr).toMatch(/optimizer state \(optimizer_state_dict\) left out; convert to a \.pdopt/);
      // And back: the .pdopt with the model's .pdparams becomes a torch optimizer state_dict.
      const back = join(dir, "back.pth");
      const b = runCli(["convert", pdopt, back, "--map", "paddle2torch", "--template", template, ...(kind === "adamw" ? ["--adam-betas", "0.85,0.995"] : [])]);
      expect(b.code, b.stderr).toBe(0);
      expect(b.stderr).toMatch(/optimizer state of 6 parameters \(Paddle accumulators\) written as a torch optimizer state_dict/);
      const again = JSON.parse(runPython(CHECK_BACK, [ckptPath, back, kind]));
      expect(
        Object.values(again).every((v) => v === true),
        JSON.stringify(again),
      ).toBe(true);
    });
  }
});
