import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { tf } from "../formats/tf/fixtures.js";
import { GRAPH_AND_VALUES, READER, TAR_GRAPH_OPTIMIZER, WEIGHTS_ONLY_IMPORTS } from "../formats/tf/graph-values.js";

// A real Keras 2.12 SavedModel compiled with the new SGD(momentum=0.9, nesterov): inspect lists
// its momentums under their variables' names; keras2torch writes weights real torch computes with
// as numpy computes the Keras model from the bundle (read by the independent bundle reader); a
// torch training checkpoint (.tar) carries each momentum m as torch's momentum_buffer = −m / lr,
// and one real torch SGD step from it is the step Keras ≥ 2.11's SGD takes (tf_keras/optimizers/sgd.py:
// m = μ·m − lr·g; Nesterov w += μ·m − lr·g, else w += m), computed in numpy from the file's own
// slots, learning rate (the optimizer's variable) and momentum/nesterov (training_config in keras_metadata.pb).

const MODEL = "savedmodel-dense-dropout-sgd-momentum-k212";

const COMPARE = String.raw`
import sys, json, io, contextlib, numpy as np, torch
from torch import nn
prefix, pth = sys.argv[1:3]
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    main(prefix)
entries = json.loads(buf.getvalue())["tensors"]
def w(key):
    e = entries[key + "/.ATTRIBUTES/VARIABLE_VALUE"]
    assert e["crc_ok"], key
    return np.array(e["values"], dtype=np.float32).reshape(e["shape"])
layers = [(w("layer_with_weights-%d/kernel" % i), w("layer_with_weights-%d/bias" % i)) for i in range(3)]
x = np.random.default_rng(3).random((5, layers[0][0].shape[0]), dtype=np.float32)
h = x
for i, (k, b) in enumerate(layers):
    h = h @ k + b
    h = np.maximum(h, 0) if i < 2 else np.exp(h - h.max(1, keepdims=True)) / np.exp(h - h.max(1, keepdims=True)).sum(1, keepdims=True)
state = torch.load(pth, weights_only=True)
class Chatbot(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense, self.dense_1, self.dense_2 = (nn.Linear(k.shape[0], k.shape[1]) for k, _ in layers)
    def forward(self, x):
        return torch.softmax(self.dense_2(torch.relu(self.dense_1(torch.relu(self.dense(x))))), dim=-1)
model = Chatbot()
model.load_state_dict(state, strict=True)
out = model(torch.from_numpy(x)).detach().numpy()
print(json.dumps({"keys": list(state.keys()), "max_abs": float(np.abs(out - h).max()), "spread": float(h.max() - h.min())}))
`;

// Real torch loads the .tar (torch 1.13's weights_only refuses any float in param_groups, so the
// pickle's imports are checked against the ones its restricted unpickler allows instead), SGD takes
// optimizer_state_dict; one float64 step from random gradients vs Keras' rule from the file's values.
const STEP = String.raw`${WEIGHTS_ONLY_IMPORTS}${TAR_GRAPH_OPTIMIZER}from torch import nn
ok["momentum"], ok["nesterov"] = optimizer["config"]["momentum"], optimizer["config"]["nesterov"]
mu, nesterov = ok["momentum"], ok["nesterov"]
lr = float(value("learning_rate"))

ok["imports"] = weights_only_imports(tar)
ck = torch.load(tar)
sizes = [(87, 128), (128, 64), (64, 4)]
def fresh(transform=None):
    model = nn.ModuleDict({name: nn.Linear(i, o) for name, (i, o) in zip(["dense", "dense_1", "dense_2"], sizes)})
    model.load_state_dict(ck["model_state_dict"], strict=True)
    model.double()
    state = ck["optimizer_state_dict"]
    if transform:
        state = {"state": {k: {"momentum_buffer": transform(v["momentum_buffer"])} for k, v in state["state"].items()}, "param_groups": state["param_groups"]}
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    opt.load_state_dict(state)
    return model, opt
model, opt = fresh()
g = opt.param_groups[0]
ok["hyper"] = bool(g["lr"] == lr and g["momentum"] == mu and g["nesterov"] == nesterov and g["dampening"] == 0 and g["weight_decay"] == 0)
named = list(model.named_parameters())
ok["names"] = [n for n, _ in named] == [l + "." + p for l in ("dense", "dense_1", "dense_2") for p in ("weight", "bias")]
keras_name = lambda n: n.replace(".weight", "/kernel").replace(".bias", "/bias")
def m_slot(n, shape):
    m = value("SGD/m/" + keras_name(n))
    return m.reshape(shape[::-1]).T if n.endswith("weight") else m
m = {n: m_slot(n, tuple(p.shape)) for n, p in named}
ok["nonzero"] = sum(int(np.abs(m[n]).max() > 0) for n, _ in named)
ok["buffers"] = all(np.allclose(opt.state[p]["momentum_buffer"].numpy(), -m[n] / lr, rtol=1e-6, atol=0) for n, p in named)
rng = np.random.default_rng(0)
grads = {n: rng.standard_normal(p.shape) * np.abs(m[n]).mean() / lr for n, p in named}
def step_error(model, opt):
    params = list(model.named_parameters())
    before = {n: p.detach().numpy().copy() for n, p in params}
    for n, p in params: p.grad = torch.from_numpy(grads[n].copy())
    opt.step()
    err = 0.0
    for n, p in params:
        w, gr = before[n], grads[n]
        m_next = mu * m[n] - lr * gr
        want = w + (mu * m_next - lr * gr if nesterov else m_next)
        err = max(err, float(np.abs(p.detach().numpy() - want).max() / np.abs(want - w).max()))
    return err
ok["step_error"] = step_error(model, opt)
ok["wrong_sign_error"] = step_error(*fresh(lambda b: -b))
ok["unscaled_error"] = step_error(*fresh(lambda b: b * lr))
print(json.dumps(ok))
`;

describe("a real Keras 2.12 SGD(momentum) SavedModel through the CLI", () => {
  it("inspect lists 6 weights and 6 momentum slots by variable name, none as optimizer/_variables/N", () => {
    const result = runCli(["inspect", tf(MODEL)]);
    expect(result.code, result.stderr).toBe(0);
    for (const layer of ["dense", "dense_1", "dense_2"]) {
      for (const v of ["kernel", "bias"]) {
        expect(result.stdout).toMatch(new RegExp(`^${layer}/${v} `, "m"));
        expect(result.stdout).toMatch(new RegExp(`^optimizer/${layer}/${v}/m `, "m"));
      }
    }
    expect(result.stdout).toContain("12 tensors (6 optimizers)");
    // (the file's own keys, optimizer/_variables/N, appear only in meta's checkpoint_keys)
    expect(result.stdout.split("\nmeta:")[0]).not.toContain("_variables");
    expect(result.stdout).toContain('tensorflow.optimizer_class: "SGD"');
  });

  it.skipIf(!hasPythonModules("torch", "numpy"))(
    "keras2torch weights-only: the momentums are left out with a reason, torch computes what numpy's Keras does",
    () => {
      const pth = join(mkdtempSync(join(tmpdir(), "wb-tf-sgd-")), "m.pt");
      const result = runCli(["convert", tf(MODEL), pth, "--map", "keras2torch"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("optimizer state (6 SGD slots of 6 variables) left out of the weights");
      const out = JSON.parse(runPython(`${READER}\n${COMPARE}`, [join(tf(MODEL), "variables/variables"), pth])) as {
        keys: string[];
        max_abs: number;
        spread: number;
      };
      expect([...out.keys].sort()).toEqual(["dense", "dense_1", "dense_2"].flatMap((l) => [`${l}.bias`, `${l}.weight`]));
      expect(out.spread).toBeGreaterThan(1e-3);
      expect(out.max_abs).toBeLessThan(1e-5);
    },
    120_000,
  );

  it.skipIf(!hasPythonModules("torch", "numpy"))(
    "a torch training checkpoint (.tar): torch.optim.SGD takes the state, and its step is Keras' SGD(momentum, nesterov) step",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-tf-sgd-"));
      const tar = join(dir, "ckpt.tar");
      const result = runCli(["convert", tf(MODEL), tar, "--map", "keras2torch"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("optimizer state of 6 parameters (6 SGD slots) written as a torch training checkpoint");
      expect(result.stderr).toContain("momentum_buffer = −(Keras m) / lr (0.009999999776482582)");
      expect(result.stderr).not.toContain("without momentum");
      const graph = join(dir, "graph.json");
      writeFileSync(graph, runPython(`${READER}\n${GRAPH_AND_VALUES}`, [join(tf(MODEL), "variables/variables")]));
      const ok = JSON.parse(runPython(STEP, [tar, graph, join(tf(MODEL), "keras_metadata.pb")])) as Record<string, unknown>;
      expect(ok).toMatchObject({ imports: true, momentum: 0.9, nesterov: true, hyper: true, names: true, buffers: true, crc: true });
      expect(ok.nonzero).toBe(6);
      expect(ok.step_error as number).toBeLessThan(1e-6);
      // The same check fails when the buffer has the wrong sign or is not divided by lr.
      expect(ok.wrong_sign_error as number).toBeGreaterThan(1e-2);
      expect(ok.unscaled_error as number).toBeGreaterThan(1e-2);
    },
    120_000,
  );
});
