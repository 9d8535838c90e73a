import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";

// A weights-only Keras MultiHeadAttention (model.save_weights .h5: layer names, no config) is four
// EinsumDense sublayers with 3-D kernels; each alone looks like a Conv1D, which once made
// keras2paddle lay out out_proj as a convolution (untransposed) and exit 0. The file is built with
// h5py in Keras 2's save_weights layout; numpy computes what Keras' MultiHeadAttention computes
// (the same einsums as keras-numpy.test.ts), torch runs the converted weights.

const MAKE_KERAS = String.raw`
import sys, json, h5py, numpy as np
out, xs, ys = sys.argv[1:4]
rng = np.random.default_rng(0)
E, H, K = 12, 3, 4
w = {"attn": [("query/kernel", (E, H, K)), ("query/bias", (H, K)), ("key/kernel", (E, H, K)), ("key/bias", (H, K)),
              ("value/kernel", (E, H, K)), ("value/bias", (H, K)), ("attention_output/kernel", (H, K, E)), ("attention_output/bias", (E,))],
     "fc": [("kernel", (E, 5)), ("bias", (5,))]}
w = {l: [(n, (rng.standard_normal(s) * 0.5).astype(np.float32)) for n, s in ws] for l, ws in w.items()}
f = h5py.File(out, "w")
f.attrs["keras_version"] = "2.15.0"; f.attrs["backend"] = "tensorflow"; f.attrs["layer_names"] = [b"attn", b"fc"]
for layer, ws in w.items():
    g = f.create_group(layer); g.attrs["weight_names"] = [f"{layer}/{n}:0".encode() for n, _ in ws]
    for n, v in ws: g.create_dataset(f"{layer}/{n}:0", data=v)
v = {f"{l}/{n}": a.astype(np.float64) for l, ws in w.items() for n, a in ws}
x = rng.standard_normal((2, 7, E))
dense = lambda p: np.einsum("abc,cde->abde", x, v[f"attn/{p}/kernel"]) + v[f"attn/{p}/bias"]
q, k, val = dense("query") / np.sqrt(K), dense("key"), dense("value")
s = np.einsum("aecd,abcd->acbe", k, q)
s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
ctx = np.einsum("acbe,aecd->abcd", s, val)
y = np.einsum("abcd,cde->abe", ctx, v["attn/attention_output/kernel"]) + v["attn/attention_output/bias"]
np.save(xs, x.astype(np.float32)); np.save(ys, y @ v["fc/kernel"] + v["fc/bias"])
`;

// torch.nn.MultiheadAttention loads the keras2torch output with strict=True and runs it.
const RUN_TORCH = String.raw`
import sys, json, numpy as np, torch
sd = torch.load(sys.argv[1]); x = torch.from_numpy(np.load(sys.argv[2])); want = np.load(sys.argv[3])
attn = torch.nn.MultiheadAttention(12, 3, batch_first=True); fc = torch.nn.Linear(12, 5)
attn.load_state_dict({k[5:]: t for k, t in sd.items() if k.startswith("attn.")}, strict=True)
fc.load_state_dict({k[3:]: t for k, t in sd.items() if k.startswith("fc.")}, strict=True)
with torch.no_grad(): y = fc(attn(x, x, x, need_weights=False)[0]).double().numpy()
print(json.dumps({"max_error": float(np.abs(y - want).max()), "keys": sorted(sd)}))
`;

// Paddle is not installable here: its nn.MultiHeadAttention is computed in torch from its documented
// layout — q/k/v/out_proj Linear weights [in, out] (y = x·W + b), heads split from the last
// dimension, scores scaled by 1/sqrt(head_dim) — independently of weightbridge's own transforms.
const RUN_PADDLE = String.raw`
import sys, json, pickle, numpy as np, torch
p = {k: torch.from_numpy(np.asarray(v)).double() for k, v in pickle.load(open(sys.argv[1], "rb")).items()}
x = torch.from_numpy(np.load(sys.argv[2])).double(); want = np.load(sys.argv[3])
H = 3
lin = lambda t, n: t @ p[n + ".weight"] + p[n + ".bias"]
heads = lambda t: t.reshape(t.shape[0], t.shape[1], H, -1).transpose(1, 2)
q, k, v = heads(lin(x, "attn.q_proj")), heads(lin(x, "attn.k_proj")), heads(lin(x, "attn.v_proj"))
s = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, -1)
ctx = (s @ v).transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
y = lin(lin(ctx, "attn.out_proj"), "fc").numpy()
print(json.dumps({"max_error": float(np.abs(y - want).max()), "keys": sorted(p)}))
`;

describe.skipIf(!hasPythonModules("torch", "numpy", "h5py") || !existsSync(CLI))("weights-only Keras MultiHeadAttention → torch, Paddle", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-keras-mha-"));
  const [h5, x, y] = ["mha.h5", "x.npy", "y.npy"].map((n) => join(dir, n)) as [string, string, string];

  it("keras2torch: torch's MultiheadAttention loads it strictly and computes what Keras computes", () => {
    runPython(MAKE_KERAS, [h5, x, y]);
    const out = join(dir, "t.pth");
    const r = runCli(["convert", h5, out, "--map", "keras2torch"]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(runPython(RUN_TORCH, [out, x, y]));
    expect(run.max_error).toBeLessThan(1e-5);
    expect(runCli(["verify", h5, out, "--map", "keras2torch"]).code).toBe(0);
  });

  it("keras2paddle: out_proj is a Linear [in, out] (transposed), no --layer needed; Paddle's MHA computes what Keras computes", () => {
    const out = join(dir, "p.pdparams");
    const report = join(dir, "p.json");
    const r = runCli(["convert", h5, out, "--map", "keras2paddle", "--report", report]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(runPython(RUN_PADDLE, [out, x, y]));
    expect(run.keys).toEqual([
      "attn.k_proj.bias",
      "attn.k_proj.weight",
      "attn.out_proj.bias",
      "attn.out_proj.weight",
      "attn.q_proj.bias",
      "attn.q_proj.weight",
      "attn.v_proj.bias",
      "attn.v_proj.weight",
      "fc.bias",
      "fc.weight",
    ]);
    expect(run.max_error).toBeLessThan(1e-5);
    const v = runCli(["verify", h5, out, "--map", "keras2paddle"]);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/^attn\s+mha\s/m);
  });
});
