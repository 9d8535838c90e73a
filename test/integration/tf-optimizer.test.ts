import { mkdtempSync, writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { tf } from "../formats/tf/fixtures.js";
import { BUNDLE_VARIABLES } from "../formats/tf/graph-values.js";

const READER = readFileSync(join(import.meta.dirname, "../formats/tf/bundle_reader.py"), "utf8");
// The torch modules equivalent to the fixtures' Keras models, shared with keras_reference.py.
const MODELS = readFileSync(join(import.meta.dirname, "../formats/tf/torch_models.py"), "utf8");

// A real Keras SavedModel's Adam slots, converted with keras2torch into a torch training
// checkpoint (.tar): real torch loads model_state_dict strictly into the equivalent module, a
// torch.optim.Adam over model.parameters() takes optimizer_state_dict, and every exp_avg /
// exp_avg_sq is the TF slot (read by checkpoint key with the independent bundle reader) put into
// the torch layout by numpy here; step is TF's iteration count. Then one optimizer step runs.
const CHECK = String.raw`
import sys, json, numpy as np, torch
from torch import nn
model_name, tar, bundle_json = sys.argv[1:4]
entries = json.load(open(bundle_json))["tensors"]
${BUNDLE_VARIABLES}if model_name == "lstm":
    # Keras LSTM gates i,f,c,o are torch's i,f,g,o: kernels only transpose. Keras has one bias,
    # torch two: bias_ih carries it, bias_hh is filled with zeros, its moments too.
    step, betas, lr = int(w("optimizer/iter")), (float(w("optimizer/beta_1")), float(w("optimizer/beta_2"))), float(w("optimizer/learning_rate"))
    dense = {"dense_15": "layer_with_weights-1", "dense_16": "layer_with_weights-2", "dense_17": "layer_with_weights-3"}
    def expected(s):
        out = {"lstm_5.weight_ih_l0": slot("trainable_variables/0", s).T, "lstm_5.weight_hh_l0": slot("trainable_variables/1", s).T,
               "lstm_5.bias_ih_l0": slot("trainable_variables/2", s), "lstm_5.bias_hh_l0": np.zeros(256, np.float32)}
        for name, key in dense.items():
            out[name + ".weight"], out[name + ".bias"] = slot(key + "/kernel", s).T, slot(key + "/bias", s)
        return out
    model, x = LstmModel(), torch.randn(4, 7, 1)
else:
    # Keras >= 2.11 optimizers keep the slots in optimizer/_variables: 0 the iteration count, then
    # m and v of each trainable variable in turn.
    step, betas, lr = int(w("optimizer/_iterations")), (0.9, 0.999), float(w("optimizer/_learning_rate"))
    names = ["conv1d.weight", "conv1d.bias", "conv1d_1.weight", "conv1d_1.bias", "dense.weight", "dense.bias", "dense_1.weight", "dense_1.bias"]
    def expected(s):
        raw = {n: w("optimizer/_variables/%d" % (2 * i + (1 if s == "m" else 2))) for i, n in enumerate(names)}
        out = {n: raw[n].transpose(2, 1, 0) if n.startswith("conv") and n.endswith("weight") else raw[n].T if n.endswith("weight") else raw[n] for n in names}
        # The Dense after Flatten: Keras rows run (length 10, channels 32), torch's (channels, length).
        out["dense.weight"] = raw["dense.weight"].reshape(10, 32, 10).transpose(1, 0, 2).reshape(320, 10).T
        return out
    model, x = Conv1dModel(), torch.randn(4, 46, 1)

ck = torch.load(tar)
ok = {"keys": sorted(ck.keys()) == ["model_state_dict", "optimizer_state_dict"]}
model.load_state_dict(ck["model_state_dict"], strict=True)
opt = torch.optim.Adam(model.parameters())
opt.load_state_dict(ck["optimizer_state_dict"])
m, v = expected("m"), expected("v")
named = list(model.named_parameters())
ok["all_have_state"] = all(p in opt.state for _, p in named)
ok["moments"] = {n: bool(np.array_equal(opt.state[p]["exp_avg"].numpy(), m[n]) and np.array_equal(opt.state[p]["exp_avg_sq"].numpy(), v[n])) for n, p in named}
ok["nonzero_moments"] = sum(int(np.abs(m[n]).max() > 0) for n, _ in named)
ok["step"] = all(float(opt.state[p]["step"]) == step for _, p in named)
g = opt.param_groups[0]
ok["hyper"] = bool(np.isclose(g["lr"], lr) and np.allclose(g["betas"], betas) and g["eps"] == 1e-7)
opt.zero_grad(); model(x).square().mean().backward(); opt.step()
ok["stepped"] = all(float(opt.state[p]["step"]) == step + 1 for _, p in named)
print(json.dumps(ok))
`;

const CASES = [
  { model: "lstm", input: "savedmodel-lstm-dense-adam-k26", bundle: "savedmodel-lstm-dense-adam-k26/variables/variables", parameters: 10 },
  { model: "conv1d", input: "savedmodel-conv1d-maxpool-dense-adam", bundle: "savedmodel-conv1d-maxpool-dense-adam/variables/variables", parameters: 8 },
];

describe.skipIf(!hasPythonModules("torch", "numpy"))("TensorFlow Adam slots → torch training checkpoint, loaded by real torch", () => {
  for (const c of CASES) {
    it(`${c.input}: optimizer.load_state_dict takes it, moments in torch layout, step = TF iterations`, () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-tf-opt-"));
      const tar = join(dir, "ckpt.tar");
      const result = runCli(["convert", tf(c.input), tar, "--map", "keras2torch"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`optimizer state of ${c.parameters} parameters`);
      expect(result.stderr).toContain("torch training checkpoint");
      const bundle = join(dir, "bundle.json");
      writeFileSync(bundle, runPython(READER, [tf(c.bundle)]));
      const ok = JSON.parse(runPython(`${MODELS}\n${CHECK}`, [c.model, tar, bundle])) as Record<string, unknown>;
      expect(ok.keys).toBe(true);
      expect(ok.all_have_state).toBe(true);
      expect(Object.values(ok.moments as Record<string, boolean>)).toHaveLength(c.parameters);
      expect(ok.moments).toEqual(Object.fromEntries(Object.keys(ok.moments as object).map((k) => [k, true])));
      expect(ok.nonzero_moments as number).toBeGreaterThan(2);
      expect(ok.step).toBe(true);
      expect(ok.hyper).toBe(true);
      expect(ok.stepped).toBe(true);
    }, 120_000);
  }

  it("a weights-only output leaves the slots out and says so", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-tf-opt-"));
    const result = runCli(["convert", tf("savedmodel-lstm-dense-adam-k26"), join(dir, "m.pth"), "--map", "keras2torch"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("optimizer state (18 Adam slots of 9 variables) left out of the weights; write to a .tar");
    expect(result.stderr).toContain("mapping: optimizer state (18 Adam slots) left out; convert to a .tar");
    const keys = JSON.parse(
      runPython(
        String.raw`
import sys, json, torch
print(json.dumps(list(torch.load(sys.argv[1], weights_only=True).keys())))`,
        [join(dir, "m.pth")],
      ),
    ) as string[];
    expect(keys).toHaveLength(10);
    expect(keys.every((k) => !k.includes("optimizer"))).toBe(true);
  }, 120_000);
});
