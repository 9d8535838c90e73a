import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";

// torch.nn.MultiheadAttention → Keras MultiHeadAttention (query/key/value/attention_output
// EinsumDense sublayers). Real torch computes the attention; numpy computes what Keras'
// MultiHeadAttention computes with the kernels we wrote (shared/reference/keras-h5wasm.md §4),
// and the two must agree. Then keras2torch must give back torch's exact state_dict.
const MAKE = String.raw`
import sys, torch, numpy as np
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(12, 3, batch_first=True)
        self.fc = torch.nn.Linear(12, 5)
    def forward(self, x):
        y, _ = self.attn(x, x, x)
        return self.fc(y)
m = M().eval()
x = torch.randn(2, 7, 12)
with torch.no_grad(): y = m(x)
torch.save(m, sys.argv[1])
torch.save(m.state_dict(), sys.argv[2])
np.save(sys.argv[3], x.numpy()); np.save(sys.argv[4], y.numpy())
torch.jit.script(m).save(sys.argv[5])
`;

const KERAS_MHA = String.raw`
import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
w = lambda n: np.asarray(f["attn/" + n] if "attn/" + n in f else f["fc/" + n])
def dense(name, x, spec):
    return np.einsum(spec, x, w(f"attn/{name}/kernel:0")) + w(f"attn/{name}/bias:0")
x = np.load(sys.argv[2]); want = np.load(sys.argv[3])
q = dense("query", x, "abc,cde->abde"); k = dense("key", x, "abc,cde->abde"); v = dense("value", x, "abc,cde->abde")
q = q / np.sqrt(q.shape[-1])
scores = np.einsum("aecd,abcd->acbe", k, q)
scores = np.exp(scores - scores.max(-1, keepdims=True)); scores /= scores.sum(-1, keepdims=True)
ctx = np.einsum("acbe,aecd->abcd", scores, v)
out = np.einsum("abcd,cde->abe", ctx, w("attn/attention_output/kernel:0")) + w("attn/attention_output/bias:0")
y = out @ w("fc/kernel:0") + w("fc/bias:0")
names = list(f["attn"].attrs["weight_names"].astype(str))
print(json.dumps({"max_error": float(np.abs(y - want).max()), "weight_names": names}))
`;

describe.skipIf(!hasPythonModules("torch", "numpy", "h5py") || !existsSync(CLI))("torch MultiheadAttention ⇄ Keras MultiHeadAttention", () => {
  it("computes what torch computes in Keras' layout, in Keras' weight order, and maps back bit-exact", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-mha-"));
    const [model, sd, x, y, scripted] = ["model.pt", "sd.pt", "x.npy", "y.npy", "scripted.pt"].map((n) => join(dir, n));
    // torch.jit.script reads the class's source, so the script runs from a file.
    const make = join(dir, "make.py");
    writeFileSync(make, MAKE);
    runPython("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')", [make, model!, sd!, x!, y!, scripted!]);
    // A whole-model pickle says num_heads; a bare state_dict needs it from --layer.
    const h5 = join(dir, "model.h5");
    const r = runCli(["convert", model!, h5, "--map", "torch2keras"]);
    expect(r.code, r.stderr).toBe(0);
    const check = JSON.parse(runPython(KERAS_MHA, [h5, x!, y!]));
    expect(check.max_error).toBeLessThan(1e-5);
    expect(check.weight_names).toEqual(["query", "key", "value", "attention_output"].flatMap((p) => [`attn/${p}/kernel:0`, `attn/${p}/bias:0`]));

    const bare = runCli(["convert", sd!, join(dir, "bare.h5"), "--map", "torch2keras"]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/does not say the layer's num_heads; give it with --layer 'REGEX=KIND\(num_heads=N\)'/);
    const withHeads = runCli(["convert", sd!, join(dir, "bare.h5"), "--map", "torch2keras", "--layer", "attn\\.=mha(num_heads=3)"]);
    expect(withHeads.code, withHeads.stderr).toBe(0);
    expect(runCli(["diff", h5, join(dir, "bare.h5")]).code).toBe(0);
    // A TorchScript archive says num_heads too (its out_proj inherits it from the attention layer).
    const fromScript = runCli(["convert", scripted!, join(dir, "scripted.h5"), "--map", "torch2keras"]);
    expect(fromScript.code, fromScript.stderr).toBe(0);
    expect(runCli(["diff", h5, join(dir, "scripted.h5")]).code).toBe(0);

    const back = join(dir, "back.pth");
    expect(runCli(["convert", h5, back, "--map", "keras2torch"]).code).toBe(0);
    const same = runCli(["diff", sd!, back]);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/equal: 6 tensors \(bit-exact\)/);
  });
});
