import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { tf } from "../formats/tf/fixtures.js";
import { BUNDLE_VARIABLES } from "../formats/tf/graph-values.js";

const READER = readFileSync(join(import.meta.dirname, "../formats/tf/bundle_reader.py"), "utf8");

// Issue 27: a real Keras 2.10 SavedModel compiled with Adamax (SeparableConv2D x2 + Dense), to a
// torch training checkpoint. Real torch loads it (weights_only=True is refused by torch 1.13's
// restricted unpickler for any float in param_groups, so the pickle's imports are checked against
// the ones that unpickler allows instead), torch.optim.Adamax takes optimizer_state_dict, each
// exp_avg is Keras' m and exp_inf Keras' v + eps (slots read by checkpoint key with the
// independent bundle reader, put in torch layout by numpy here), step is Keras' iterations. Then
// one torch step from random gradients is compared with Keras' documented Adamax update in numpy.
const CHECK = String.raw`
import sys, json, zipfile, pickletools, numpy as np, torch
from torch import nn
tar, bundle_json = sys.argv[1:3]
entries = json.load(open(bundle_json))["tensors"]
${BUNDLE_VARIABLES}
class Separable(nn.Module):
    # Parameter order as the report's warning says: pointwise (weight, bias), then depthwise.
    def __init__(self, cin, cout):
        super().__init__()
        self.pointwise = nn.Conv2d(cin, cout, 1)
        self.depthwise = nn.Conv2d(cin, cin, 3, groups=cin, bias=False)
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.separable_conv2d_2, self.separable_conv2d_3, self.dense_3 = Separable(1, 16), Separable(16, 32), nn.Linear(32, 2)

z = zipfile.ZipFile(tar)
pkl = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
ok = {"imports": sorted({arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"}) == ["collections OrderedDict", "torch FloatStorage", "torch._utils _rebuild_tensor_v2"]}
ck = torch.load(tar)
model = Model()
model.load_state_dict(ck["model_state_dict"], strict=True)
# In float64 (load_state_dict casts the state to the parameters' dtype) the step is not lost in float32 rounding of the weights.
model.double()
opt = torch.optim.Adamax(model.parameters())
opt.load_state_dict(ck["optimizer_state_dict"])
g = opt.param_groups[0]
lr, (b1, b2), eps = g["lr"], g["betas"], g["eps"]
t = int(w("optimizer/iter"))
ok["hyper"] = bool(np.isclose(lr, float(w("optimizer/learning_rate"))) and np.isclose(b1, float(w("optimizer/beta_1"))) and np.isclose(b2, float(w("optimizer/beta_2"))) and eps == 1e-7)
# Keras layout -> torch layout.
layout = {"separable_conv2d_2.pointwise.weight": ("layer_with_weights-0/pointwise_kernel", (3, 2, 0, 1)), "separable_conv2d_2.pointwise.bias": ("layer_with_weights-0/bias", None),
          "separable_conv2d_2.depthwise.weight": ("layer_with_weights-0/depthwise_kernel", (2, 3, 0, 1)),
          "separable_conv2d_3.pointwise.weight": ("layer_with_weights-1/pointwise_kernel", (3, 2, 0, 1)), "separable_conv2d_3.pointwise.bias": ("layer_with_weights-1/bias", None),
          "separable_conv2d_3.depthwise.weight": ("layer_with_weights-1/depthwise_kernel", (2, 3, 0, 1)),
          "dense_3.weight": ("layer_with_weights-2/kernel", (1, 0)), "dense_3.bias": ("layer_with_weights-2/bias", None)}
torchy = lambda a, perm: a.transpose(perm) if perm else a
named = list(model.named_parameters())
ok["names"] = [n for n, _ in named] == list(layout)
keras = {n: {s: torchy(slot(layout[n][0], s), layout[n][1]).astype(np.float32) for s in ("m", "v")} for n, _ in named}
ok["step"] = all(float(opt.state[p]["step"]) == t for _, p in named)
ok["exp_avg"] = all(np.array_equal(opt.state[p]["exp_avg"].numpy(), keras[n]["m"]) for n, p in named)
ok["exp_inf"] = all(np.array_equal(opt.state[p]["exp_inf"].numpy(), keras[n]["v"] + np.float32(eps)) for n, p in named)
ok["state_dtype"] = ck["optimizer_state_dict"]["state"][0]["exp_inf"].dtype == torch.float32
ok["nonzero"] = sum(int(np.abs(keras[n]["v"]).max() > 0) for n, _ in named)
# One step: torch from the converted state, Keras' documented rule (float64) from Keras' own slots.
rng = np.random.default_rng(0)
before = {n: p.detach().numpy().astype(np.float64).copy() for n, p in named}
grads = {n: rng.standard_normal(p.shape) * np.abs(keras[n]["v"]).mean() for n, p in named}
for n, p in named: p.grad = torch.from_numpy(grads[n])
opt.step()
err = 0.0
for n, p in named:
    gr = grads[n]
    m = b1 * keras[n]["m"] + (1 - b1) * gr
    v = np.maximum(b2 * keras[n]["v"], np.abs(gr))
    want = before[n] - lr / (1 - b1 ** (t + 1)) * m / (v + eps)
    step_size = np.abs(want - before[n]).max()
    err = max(err, float(np.abs(p.detach().numpy() - want).max() / step_size))
ok["step_error"] = err
print(json.dumps(ok))
`;

describe.skipIf(!hasPythonModules("torch", "numpy"))("Keras Adamax slots → torch.optim.Adamax (real Keras 2.10 SavedModel)", () => {
  it("loads in torch, exp_avg = m, exp_inf = v + eps, step = iterations; one torch step matches Keras' Adamax update", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-tf-adamax-"));
    const tar = join(dir, "ckpt.tar");
    const input = tf("savedmodel-separableconv2d-dense-adamax-k210");
    const result = runCli(["convert", input, tar, "--map", "keras2torch"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("optimizer state of 8 parameters (16 Adamax slots) written as a torch training checkpoint");
    expect(result.stderr).toContain("exp_inf = Keras v + eps");
    const bundle = join(dir, "bundle.json");
    writeFileSync(bundle, runPython(READER, [join(input, "variables/variables")]));
    const ok = JSON.parse(runPython(CHECK, [tar, bundle])) as Record<string, unknown>;
    expect(ok).toMatchObject({ imports: true, hyper: true, names: true, step: true, exp_avg: true, exp_inf: true });
    expect(ok.nonzero).toBe(8);
    // Keras adds eps to the denominator, torch inside the running max: with exp_inf = v + eps they
    // differ by at most (1 - beta2)·eps there, and by the float32 rounding of v + eps.
    expect(ok.state_dtype).toBe(true);
    expect(ok.step_error as number).toBeLessThan(1e-5);
  }, 120_000);
});
