import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { CLI, runCli } from "../helpers/cli.js";

// A model with a bidirectional nn.LSTM trained a few Adam steps in real torch; its weights and
// Adam state are written the way paddle.save pickles a Paddle model with the same layers (plain
// pickle + numpy, as fixtures/paddle/generate.py does: Paddle cannot be installed here). A Paddle
// LSTM state_dict holds every weight twice, `lstm.weight_ih_l0` and its cell alias
// `lstm.0.cell_fw.weight_ih`, both naming one framework parameter in the name table; the .pdopt
// keys accumulators by framework name (shared/reference/paddle.md §2.3, §3). The converted
// optimizer state_dict must load into torch's Adam for the torch model and resume exactly as the
// original optimizer does.
const MAKE = String.raw`
import sys, pickle, torch, numpy as np
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 5, bidirectional=True)
        self.fc = torch.nn.Linear(10, 3)
    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y)
m = M()
opt = torch.optim.Adam(m.parameters(), lr=1e-2)
x = torch.randn(6, 2, 4)
for _ in range(3):
    opt.zero_grad(); m(x).pow(2).mean().backward(); opt.step()
torch.save(m.state_dict(), sys.argv[1] + "/model.pt")
torch.save(opt.state_dict(), sys.argv[1] + "/torch_opt.pt")
torch.save(x, sys.argv[1] + "/x.pt")

# Paddle's view of the same model: LSTM weights as they are, Linear weight [in, out].
table, params = {}, {}
fw = {"lstm.weight_ih_l0": "lstm_cell_0.w_0", "lstm.weight_hh_l0": "lstm_cell_0.w_1", "lstm.bias_ih_l0": "lstm_cell_0.b_0", "lstm.bias_hh_l0": "lstm_cell_0.b_1",
      "lstm.weight_ih_l0_reverse": "lstm_cell_1.w_0", "lstm.weight_hh_l0_reverse": "lstm_cell_1.w_1", "lstm.bias_ih_l0_reverse": "lstm_cell_1.b_0", "lstm.bias_hh_l0_reverse": "lstm_cell_1.b_1",
      "fc.weight": "linear_0.w_0", "fc.bias": "linear_0.b_0"}
def paddle_layout(name, t):
    a = t.detach().numpy().copy()
    return a.T.copy() if name == "fc.weight" else a
sd = m.state_dict()
# RNNBase registers its own weight_ih_l0 ... first, then its sublayers (the cells) hold the aliases.
for name in fw:
    if name.startswith("lstm."):
        params[name] = paddle_layout(name, sd[name]); table[name] = fw[name]
for name in fw:
    if name.startswith("lstm."):
        kind, rest = name[len("lstm."):].split("_l0")
        cell = "cell_bw" if rest == "_reverse" else "cell_fw"
        alias = "lstm.0." + cell + "." + kind
        params[alias] = paddle_layout(name, sd[name]); table[alias] = fw[name]
for name in ["fc.weight", "fc.bias"]:
    params[name] = paddle_layout(name, sd[name]); table[name] = fw[name]
params["StructuredToParameterName@@"] = table
with open(sys.argv[1] + "/model.pdparams", "wb") as f:
    pickle.dump(params, f, protocol=4)

names = [n for n, _ in m.named_parameters()]
state = opt.state_dict()["state"]
pdopt = {}
for i, name in enumerate(names):
    s = state[i]
    key = fw[name]
    pdopt[key + "_moment1_0"] = paddle_layout(name, s["exp_avg"])
    pdopt[key + "_moment2_0"] = paddle_layout(name, s["exp_avg_sq"])
    step = int(s["step"])
    pdopt[key + "_beta1_pow_acc_0"] = np.array([0.9 ** (step + 1)], dtype=np.float32)
    pdopt[key + "_beta2_pow_acc_0"] = np.array([0.999 ** (step + 1)], dtype=np.float32)
with open(sys.argv[1] + "/opt.pdopt", "wb") as f:
    pickle.dump(pdopt, f, protocol=4)
`;

// Resumes both optimizers for two more steps from the same weights; prints the largest difference.
const RESUME = String.raw`
import sys, json, copy, torch
d = sys.argv[1]
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 5, bidirectional=True)
        self.fc = torch.nn.Linear(10, 3)
    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y)
x = torch.load(d + "/x.pt")
runs = []
for opt_file in ["torch_opt.pt", "converted.pth"]:
    m = M(); m.load_state_dict(torch.load(d + "/model.pt"))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    # torch 1.13's weights_only unpickler has no BINFLOAT, which every optimizer state's lr needs.
    opt.load_state_dict(torch.load(d + "/" + opt_file))
    for g in opt.param_groups: g["lr"] = 1e-2  # a .pdopt holds no hyperparameters: set after loading
    for _ in range(2):
        opt.zero_grad(); m(x).pow(2).mean().backward(); opt.step()
    runs.append(m.state_dict())
keys = list(runs[0].keys())
print(json.dumps({"max": max(float((runs[0][k] - runs[1][k]).abs().max()) for k in keys),
                  "indices": sorted(torch.load(d + "/converted.pth")["state"].keys())}))
`;

// Issue 27 item 4: Conv1d + BatchNorm1d + a unidirectional nn.LSTM + Linear (10 parameters), its
// .pdparams template written once with the name table and once without (a template need not hold
// one): the cell aliases must never count as parameters either way.
const MAKE_CONV_BN_LSTM = String.raw`
import sys, pickle, torch, numpy as np
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, 4, 3)
        self.bn = torch.nn.BatchNorm1d(4)
        self.lstm = torch.nn.LSTM(4, 5)
        self.fc = torch.nn.Linear(5, 2)
    def forward(self, x):
        h = self.bn(self.conv(x)).permute(2, 0, 1)
        y, _ = self.lstm(h)
        return self.fc(y)
m = M()
opt = torch.optim.Adam(m.parameters(), lr=1e-2)
x = torch.randn(2, 3, 8)
for _ in range(3):
    opt.zero_grad(); m(x).pow(2).mean().backward(); opt.step()
d = sys.argv[1]; table_mode = sys.argv[2]
torch.save(m.state_dict(), d + "/model.pt"); torch.save(opt.state_dict(), d + "/torch_opt.pt"); torch.save(x, d + "/x.pt")
fw = {"conv.weight": "conv1d_0.w_0", "conv.bias": "conv1d_0.b_0", "bn.weight": "batch_norm1d_0.w_0", "bn.bias": "batch_norm1d_0.b_0",
      "bn._mean": "batch_norm1d_0.w_1", "bn._variance": "batch_norm1d_0.w_2",
      "lstm.weight_ih_l0": "lstm_cell_0.w_0", "lstm.weight_hh_l0": "lstm_cell_0.w_1", "lstm.bias_ih_l0": "lstm_cell_0.b_0", "lstm.bias_hh_l0": "lstm_cell_0.b_1",
      "fc.weight": "linear_0.w_0", "fc.bias": "linear_0.b_0"}
sd = m.state_dict()
tname = {"bn._mean": "bn.running_mean", "bn._variance": "bn.running_var"}
def arr(name):
    a = sd[tname.get(name, name)].detach().numpy().copy()
    return a.T.copy() if name == "fc.weight" else a
params, table = {}, {}
order = ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn._mean", "bn._variance"]
for n in order: params[n] = arr(n); table[n] = fw[n]
for n in [k for k in fw if k.startswith("lstm.")]: params[n] = arr(n); table[n] = fw[n]
for n in [k for k in fw if k.startswith("lstm.")]:
    kind = n[len("lstm."):].split("_l0")[0]
    params["lstm.0.cell." + kind] = arr(n); table["lstm.0.cell." + kind] = fw[n]
for n in ["fc.weight", "fc.bias"]: params[n] = arr(n); table[n] = fw[n]
if table_mode == "table": params["StructuredToParameterName@@"] = table
pickle.dump(params, open(d + "/model.pdparams", "wb"), protocol=4)
names = [n for n, _ in m.named_parameters()]
state = opt.state_dict()["state"]; pdopt = {}
for i, name in enumerate(names):
    s = state[i]; key = fw[name] if table_mode == "table" else name
    def lay(t): a = t.numpy().copy(); return a.T.copy() if name == "fc.weight" else a
    pdopt[key + "_moment1_0"] = lay(s["exp_avg"]); pdopt[key + "_moment2_0"] = lay(s["exp_avg_sq"])
    step = int(s["step"])
    pdopt[key + "_beta1_pow_acc_0"] = np.array([0.9 ** (step + 1)], np.float32); pdopt[key + "_beta2_pow_acc_0"] = np.array([0.999 ** (step + 1)], np.float32)
pickle.dump(pdopt, open(d + "/opt.pdopt", "wb"), protocol=4)
`;

const RESUME_CONV_BN_LSTM = String.raw`
import sys, json, torch
d = sys.argv[1]
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(3, 4, 3); self.bn = torch.nn.BatchNorm1d(4); self.lstm = torch.nn.LSTM(4, 5); self.fc = torch.nn.Linear(5, 2)
    def forward(self, x):
        y, _ = self.lstm(self.bn(self.conv(x)).permute(2, 0, 1))
        return self.fc(y)
x = torch.load(d + "/x.pt")
runs = []
for opt_file in ["torch_opt.pt", "converted.pth"]:
    m = M(); m.load_state_dict(torch.load(d + "/model.pt"))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    opt.load_state_dict(torch.load(d + "/" + opt_file))
    for g in opt.param_groups: g["lr"] = 1e-2
    for _ in range(2):
        opt.zero_grad(); m(x).pow(2).mean().backward(); opt.step()
    runs.append(m.state_dict())
print(json.dumps({"max": max(float((runs[0][k].float() - runs[1][k].float()).abs().max()) for k in runs[0]),
                  "indices": sorted(torch.load(d + "/converted.pth")["state"].keys())}))
`;

describe.skipIf(!hasPythonModules("torch", "numpy") || !existsSync(CLI))(".pdopt of a model with nn.LSTM → torch optimizer state", () => {
  it("Paddle's cell alias keys are not parameters: 10 parameters, indices 0–9, Adam resumes bit-exact", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-pdopt-lstm-"));
    runPython(MAKE, [dir]);
    const r = runCli(["convert", join(dir, "opt.pdopt"), join(dir, "converted.pth"), "--map", "paddle2torch", "--template", join(dir, "model.pdparams")]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(runPython(RESUME, [dir]));
    expect(result.indices).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(result.max).toBe(0);
  });

  for (const table of ["table", "none"]) {
    it(`Conv+BN+LSTM+Linear, template ${table === "table" ? "with" : "without"} the name table: 10 indices, Adam resumes bit-exact`, () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-pdopt-conv-bn-lstm-"));
      runPython(MAKE_CONV_BN_LSTM, [dir, table]);
      const r = runCli(["convert", join(dir, "opt.pdopt"), join(dir, "converted.pth"), "--map", "paddle2torch", "--template", join(dir, "model.pdparams")]);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(runPython(RESUME_CONV_BN_LSTM, [dir]));
      expect(result.indices).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(result.max).toBe(0);
    });
  }
});
