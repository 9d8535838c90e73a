import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { write } from "../../src/index.js";
import { bytesData, makeTensor, type LayerHint } from "../../src/tensor/tensor.js";
import type { Checkpoint, JsonObject } from "../../src/tensor/checkpoint.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

// Issue 27: Keras optimizers other than Adam → torch.optim state. Only Adamax has a real file
// (test/integration/tf-optimizer-adamax.test.ts); here the IR is built as the TensorFlow reader
// names a Keras 2.10 SavedModel's slots (optimizer/<var>/<slot>, scalars and training_config's
// optimizer config in meta) for one Dense(3 → 2). The .tar is loaded by real torch, the matching
// torch.optim class takes optimizer_state_dict, and one torch step (float64) from random
// gradients is compared with the Keras update as TF documents it (tf.raw_ops.ResourceApply*),
// computed in numpy from the Keras slots.
const dense: LayerHint = { kind: "linear", className: "Dense", path: "dense", framework: "keras", attributes: { position: 0 } };

function values(seed: number, n: number, positive = false): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    const v = x / 2147483648 - 0.5;
    return positive ? 0.5 + Math.abs(v) : v;
  });
}

interface Case {
  className: string;
  slots: Record<string, boolean>; // slot name → positive values
  scalars: JsonObject;
  config: JsonObject;
}

function source(c: Case): { checkpoint: Checkpoint; raw: Record<string, number[]> } {
  const raw: Record<string, number[]> = { "dense/kernel": values(1, 6), "dense/bias": values(2, 2) };
  const tensor = (name: string, shape: number[], role?: string) =>
    makeTensor(name, "float32", shape, bytesData(new Uint8Array(new Float32Array(raw[name]!).buffer)), role ? { role } : { layer: dense });
  const tensors = [tensor("dense/kernel", [3, 2]), tensor("dense/bias", [2])];
  let seed = 10;
  for (const [slot, positive] of Object.entries(c.slots)) {
    for (const [v, shape] of [
      ["dense/kernel", [3, 2]],
      ["dense/bias", [2]],
    ] as const) {
      const name = `optimizer/${v}/${slot}`;
      raw[name] = values(
        seed++,
        shape.reduce((a, b) => a * b, 1),
        positive,
      );
      tensors.push(tensor(name, [...shape], "optimizer"));
    }
  }
  return {
    checkpoint: {
      format: "tf-savedmodel",
      tensors,
      meta: { tensorflow: { optimizer: { iter: 5, ...c.scalars }, optimizer_class: c.className, optimizer_config: c.config } },
    },
    raw,
  };
}

const CHECK = String.raw`
import sys, json, numpy as np, torch
tar, raw_json, cls = sys.argv[1:4]
raw = {k: np.array(v, dtype=np.float32).astype(np.float64) for k, v in json.load(open(raw_json)).items()}
ck = torch.load(tar)
model = torch.nn.ModuleDict({"dense": torch.nn.Linear(3, 2)})
model.load_state_dict(ck["model_state_dict"], strict=True)
model.double()
opt = getattr(torch.optim, cls)(model.parameters(), lr=1.0)
opt.load_state_dict(ck["optimizer_state_dict"])
g = opt.param_groups[0]
keras = lambda var, slot: raw["optimizer/%s/%s" % (var, slot)]
var = {"dense.weight": "dense/kernel", "dense.bias": "dense/bias"}
torchy = lambda name, a: a.reshape(3, 2).T if name == "dense.weight" else a
rng = np.random.default_rng(0)
grads = {n: rng.standard_normal(p.shape) for n, p in model.named_parameters()}
before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
for n, p in model.named_parameters(): p.grad = torch.from_numpy(grads[n].copy())
opt.step()
lr, eps = g["lr"], g.get("eps")
err = 0.0
for n, p in model.named_parameters():
    k = lambda slot: torchy(n, keras(var[n], slot))
    w, gr = before[n], grads[n]
    if cls == "RMSprop":
        rho, mu = g["alpha"], g["momentum"]
        ms = rho * k("rms") + (1 - rho) * gr * gr
        denom = ms
        if g["centered"]:
            mg = rho * k("mg") + (1 - rho) * gr
            denom = ms - mg * mg
        if mu > 0:  # ResourceApply(Centered)RMSProp: mom = mu * mom + lr * g / sqrt(ms + eps); var -= mom
            want = w - (mu * k("momentum") + lr * gr / np.sqrt(denom + eps))
        else:  # Keras' own dense path: var - lr * g / (sqrt(ms) + eps)
            want = w - lr * gr / (np.sqrt(denom) + eps)
    elif cls == "Adagrad":  # ResourceApplyAdagradV2
        acc = k("accumulator") + gr * gr
        want = w - lr * gr / (np.sqrt(acc) + eps)
    elif cls == "SGD":  # ResourceApplyKerasMomentum
        mu = g["momentum"]
        m = mu * k("momentum") - lr * gr
        want = w + (mu * m - lr * gr if g["nesterov"] else m)
    err = max(err, float(np.abs(p.detach().numpy() - want).max() / np.abs(want - w).max()))
print(json.dumps({"step_error": err, "group": {k: v for k, v in g.items() if k != "params"}}))
`;

async function toTorch(c: Case): Promise<{ error: number; group: Record<string, unknown>; warnings: string }> {
  const { checkpoint, raw } = source(c);
  const { checkpoint: out, report } = await mapCheckpoint(checkpoint, { map: "keras2torch", part: "training" });
  const dir = mkdtempSync(join(tmpdir(), "wb-keras-opt-"));
  await write(out, join(dir, "ckpt.tar"), { format: "pytorch" });
  writeFileSync(join(dir, "raw.json"), JSON.stringify(raw));
  const result = JSON.parse(runPython(CHECK, [join(dir, "ckpt.tar"), join(dir, "raw.json"), c.className])) as {
    step_error: number;
    group: Record<string, unknown>;
  };
  return { error: result.step_error, group: result.group, warnings: report.warnings.join("\n") };
}

describe.skipIf(!hasPythonModules("torch", "numpy"))("Keras RMSprop, Adagrad, SGD slots → torch.optim state, one step checked in real torch", () => {
  it("RMSprop: rms → square_avg; torch's step is Keras' to rounding", async () => {
    const r = await toTorch({
      className: "RMSprop",
      slots: { rms: true },
      scalars: { learning_rate: 0.01, rho: 0.8 },
      config: { epsilon: 1e-7, centered: false },
    });
    expect(r.group).toMatchObject({ lr: 0.01, alpha: 0.8, eps: 1e-7, momentum: 0, centered: false });
    expect(r.warnings).toContain("square_avg = Keras rms");
    expect(r.error).toBeLessThan(1e-6);
  });

  it("RMSprop centered with momentum: mg → grad_avg, momentum / lr → momentum_buffer; epsilon under the root in Keras, named in the report", async () => {
    const slots = { rms: true, mg: false, momentum: false };
    const r = await toTorch({
      className: "RMSprop",
      slots,
      scalars: { learning_rate: 0.01, rho: 0.9, momentum: 0.5 },
      config: { epsilon: 1e-7, centered: true },
    });
    expect(r.group).toMatchObject({ momentum: 0.5, centered: true });
    expect(r.warnings).toContain("momentum_buffer = Keras momentum / lr (0.01)");
    expect(r.warnings).toContain("adds epsilon under the square root");
    // The square means here are ~0.5: epsilon's place changes the step by ~eps/ms.
    expect(r.error).toBeLessThan(1e-5);
  });

  it("Adagrad: accumulator → sum", async () => {
    const r = await toTorch({
      className: "Adagrad",
      slots: { accumulator: true },
      scalars: { learning_rate: 0.05 },
      config: { epsilon: 1e-7, initial_accumulator_value: 0.1 },
    });
    expect(r.group).toMatchObject({ lr: 0.05, eps: 1e-7, lr_decay: 0, initial_accumulator_value: 0.1 });
    expect(r.error).toBeLessThan(1e-6);
  });

  for (const nesterov of [false, true]) {
    it(`SGD momentum${nesterov ? " (Nesterov)" : ""}: −momentum / lr → momentum_buffer`, async () => {
      const r = await toTorch({ className: "SGD", slots: { momentum: false }, scalars: { learning_rate: 0.1, momentum: 0.9 }, config: { nesterov } });
      expect(r.group).toMatchObject({ lr: 0.1, momentum: 0.9, nesterov, dampening: 0 });
      expect(r.warnings).toContain("momentum_buffer = −(Keras momentum) / lr (0.1)");
      expect(r.error).toBeLessThan(1e-6);
    });
  }
});

describe("Keras optimizers torch has no state for are refused by name", () => {
  for (const [className, slots] of [
    ["Nadam", { m: false, v: true }],
    ["Adadelta", { accum_grad: true, accum_var: true }],
    ["Ftrl", { accumulator: true }],
  ] as const) {
    it(`${className}`, async () => {
      const { checkpoint } = source({ className, slots, scalars: { learning_rate: 0.01 }, config: {} });
      const mapping = mapCheckpoint(checkpoint, { map: "keras2torch", part: "training" });
      await expect(mapping).rejects.toThrow(
        new RegExp(`the model was compiled with ${className}, whose slots weightbridge does not convert to torch: torch\\.optim has no ${className}`),
      );
      const weights = await mapCheckpoint(checkpoint, { map: "keras2torch" });
      expect(weights.report.warnings.join("\n")).toContain(`the model was compiled with ${className}`);
    });
  }

  it("Adam with AMSGrad's vhat: refused, not written without it", async () => {
    const { checkpoint } = source({ className: "Adam", slots: { m: false, v: true, vhat: true }, scalars: {}, config: { amsgrad: true } });
    await expect(mapCheckpoint(checkpoint, { map: "keras2torch", part: "training" })).rejects.toThrow(/its vhat slots have no torch\.optim\.Adam state/);
  });

  it("SGD momentum under a learning-rate schedule: refused, the next step's rate is not in the file", async () => {
    const { checkpoint } = source({
      className: "SGD",
      slots: { momentum: false },
      scalars: { momentum: 0.9 },
      config: { learning_rate: { class_name: "ExponentialDecay", config: {} } },
    });
    await expect(mapCheckpoint(checkpoint, { map: "keras2torch", part: "training" })).rejects.toThrow(/learning rate follows a schedule/);
  });
});
