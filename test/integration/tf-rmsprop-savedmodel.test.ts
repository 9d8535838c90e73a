import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { tf } from "../formats/tf/fixtures.js";
import { GRAPH_AND_VALUES, READER, TAR_GRAPH_OPTIMIZER, WEIGHTS_ONLY_IMPORTS } from "../formats/tf/graph-values.js";

// A real Keras 2.12 SavedModel (the bAbI memory network: Embeddings, LSTM(32), Dense) compiled with
// the new (≥ 2.11) RMSprop: keras2torch into a .tar gives torch.optim.RMSprop each velocity slot as
// square_avg. Real torch loads it, RMSprop takes the state, and one float64 step from random
// gradients equals Keras ≥ 2.11's RMSprop update (tf_keras/optimizers/rmsprop.py: v = ρv + (1−ρ)g²,
// w −= lr·g/√(v+ε)) computed in numpy from the file's own slots (read by the independent bundle
// reader, named by its object graph), learning rate (the optimizer's variable) and rho/epsilon
// (training_config in keras_metadata.pb). torch puts ε after the root: |g| ≥ 1 here keeps v ≥ 0.1,
// where that moves the step by < 1e-6 relatively. Keras' one LSTM bias is torch's bias_ih (bias_hh
// zero): the report says to freeze bias_hh, and with it frozen the step is Keras'.

const MODEL = "savedmodel-babi-memnn-rmsprop-k212";

const STEP = String.raw`${WEIGHTS_ONLY_IMPORTS}${TAR_GRAPH_OPTIMIZER}config = optimizer["config"]
ok["class"] = optimizer["class_name"]
rho, eps, lr = config["rho"], config["epsilon"], float(value("learning_rate"))

ok["imports"] = weights_only_imports(tar)
ck = torch.load(tar)
# torch matches state to parameters by position: model_state_dict's order, as the report says.
names = list(ck["model_state_dict"])
def fresh(state):
    params = [torch.nn.Parameter(ck["model_state_dict"][n].double().clone()) for n in names]
    opt = torch.optim.RMSprop(params, lr=1.0)
    if state: opt.load_state_dict(state)
    return params, opt
params, opt = fresh(ck["optimizer_state_dict"])
g = opt.param_groups[0]
ok["hyper"] = bool(g["lr"] == lr and g["alpha"] == rho and g["eps"] == eps and g["momentum"] == 0 and not g["centered"])
ok["hyper"] &= not config["centered"] and config["momentum"] == 0
# torch parameter -> (Keras variable, transposed); Keras' one LSTM bias is torch's bias_ih (bias_hh is zero).
keras = {"embedding.weight": ("embedding/embeddings", False), "embedding_2.weight": ("embedding_2/embeddings", False),
         "embedding_1.weight": ("embedding_1/embeddings", False), "lstm.weight_ih_l0": ("lstm/lstm_cell/kernel", True),
         "lstm.weight_hh_l0": ("lstm/lstm_cell/recurrent_kernel", True), "lstm.bias_ih_l0": ("lstm/lstm_cell/bias", False),
         "dense.weight": ("dense/kernel", True), "dense.bias": ("dense/bias", False)}
ok["names"] = names == ["embedding.weight", "embedding_2.weight", "embedding_1.weight",
                        "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "dense.weight", "dense.bias"]
def torchy(full, transposed, shape):
    a = value(full)
    return a.reshape(shape[::-1]).T if transposed else a.reshape(shape)
index = {n: i for i, n in enumerate(names)}
weights = {n: torchy(keras[n][0], keras[n][1], tuple(params[index[n]].shape)) for n in keras}
velocity = {n: torchy("RMSprop/velocity/" + keras[n][0], keras[n][1], tuple(params[index[n]].shape)) for n in keras}
ok["weights"] = all(np.array_equal(params[index[n]].detach().numpy(), weights[n]) for n in keras)
ok["square_avg"] = all(np.array_equal(opt.state[params[index[n]]]["square_avg"].numpy(), velocity[n]) for n in keras)
ok["bias_hh_state_zero"] = float(opt.state[params[index["lstm.bias_hh_l0"]]]["square_avg"].abs().max()) == 0.0
ok["step"] = sorted({float(s["step"]) for s in opt.state.values()}) == [float(value("iteration")) if "iteration" in by_name else -1]
ok["velocity_max"] = max(float(np.abs(v).max()) for v in velocity.values())
rng = np.random.default_rng(0)
grads = [(lambda x: np.sign(x) * (1 + np.abs(x)))(rng.standard_normal(p.shape)) for p in params]
def step_error(params, opt):
    before = [p.detach().numpy().copy() for p in params]
    # bias_hh frozen, as the report says: no gradient, so torch leaves it (and the LSTM's summed bias steps as Keras').
    for n, p, gr in zip(names, params, grads): p.grad = None if n == "lstm.bias_hh_l0" else torch.from_numpy(gr.copy())
    opt.step()
    err = 0.0
    for n in keras:
        i = index[n]
        v = rho * velocity[n] + (1 - rho) * grads[i] ** 2
        want = before[i] - lr * grads[i] / np.sqrt(v + eps)
        err = max(err, float(np.abs(params[i].detach().numpy() - want).max() / np.abs(want - before[i]).max()))
    return err
ok["step_error"] = step_error(params, opt)
ok["bias_hh_unchanged"] = float(params[index["lstm.bias_hh_l0"]].detach().abs().max()) == 0.0
# Control: torch's own initial state (square_avg 0) with the same settings.
ok["stateless_error"] = step_error(*fresh(None))
print(json.dumps(ok))
`;

describe.skipIf(!hasPythonModules("torch", "numpy"))("a real Keras 2.12 RMSprop SavedModel (bAbI memory network) into a torch training checkpoint", () => {
  it("torch.optim.RMSprop takes velocity as square_avg, and its step is Keras ≥ 2.11's RMSprop step", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-tf-rmsprop-"));
    const tar = join(dir, "ckpt.tar");
    const result = runCli(["convert", tf(MODEL), tar, "--map", "keras2torch"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("optimizer state of 9 parameters (8 RMSprop slots) written as a torch training checkpoint");
    expect(result.stderr).toContain("square_avg = Keras velocity");
    expect(result.stderr).toContain("Keras ≥ 2.11 adds epsilon under the square root");
    expect(result.stderr).toContain("freeze them (`model.lstm.bias_hh_l0.requires_grad_(False)`) to continue as Keras");
    const graph = join(dir, "graph.json");
    writeFileSync(graph, runPython(`${READER}\n${GRAPH_AND_VALUES}`, [join(tf(MODEL), "variables/variables")]));
    const ok = JSON.parse(runPython(STEP, [tar, graph, join(tf(MODEL), "keras_metadata.pb")])) as Record<string, unknown>;
    expect(ok).toMatchObject({
      crc: true,
      class: "Custom>RMSprop",
      imports: true,
      hyper: true,
      names: true,
      weights: true,
      square_avg: true,
      bias_hh_state_zero: true,
      bias_hh_unchanged: true,
      step: true,
    });
    expect(ok.velocity_max as number).toBeGreaterThan(1e-3);
    expect(ok.step_error as number).toBeLessThan(1e-6);
    expect(ok.stateless_error as number).toBeGreaterThan(1e-2);
  }, 120_000);
});
