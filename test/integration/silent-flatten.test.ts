import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";
import { fixture } from "../helpers/fixtures.js";

// Issue 15 case 1: Flatten → Dense row order. Keras flattens channels-last (H,W,C), torch
// channels-first (C,H,W); the Dense/Linear rows must be reordered whenever the files say a
// Flatten of a feature map feeds it, and the conversion is refused when they cannot say it.
// Both sides are computed: torch for the torch model, numpy implementations of the Keras layers.

const REAL = fixture("keras", "real");
const KERAS_H5 = join(REAL, "KERAS_conv2d_model_weights.h5");
const KERAS_JSON = join(REAL, "KERAS_conv2d_model.json");

// Keras 2.0 Conv2D(2, 3x3, same, relu) on 8x8x1 → Dropout → Flatten → Dense(10, softmax), computed
// with numpy from the Keras file, against torch computing the converted state_dict.
const KERAS_VS_TORCH = String.raw`
import sys, json, h5py, numpy as np, torch
F = torch.nn.functional
f = h5py.File(sys.argv[1], "r")
k = f["conv2d_1"]["conv2d_1"]["kernel:0"][()]; kb = f["conv2d_1"]["conv2d_1"]["bias:0"][()]
d = f["dense_1"]["dense_1"]["kernel:0"][()]; db = f["dense_1"]["dense_1"]["bias:0"][()]
rng = np.random.default_rng(0)
x = rng.standard_normal((16, 8, 8, 1)).astype(np.float32)
pad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
conv = np.zeros((16, 8, 8, 2), np.float64)
for i in range(3):
    for j in range(3):
        conv += np.einsum("nhwc,co->nhwo", pad[:, i:i + 8, j:j + 8, :], k[i, j])
conv = np.maximum(conv + kb, 0)
logits = conv.reshape(16, -1) @ d + db
e = np.exp(logits - logits.max(1, keepdims=True)); keras = e / e.sum(1, keepdims=True)
sd = torch.load(sys.argv[2])
t = torch.from_numpy(x).permute(0, 3, 1, 2)
h = F.relu(F.conv2d(t, sd["conv2d_1.weight"], sd["conv2d_1.bias"], padding=1))
out = F.softmax(F.linear(h.flatten(1), sd["dense_1.weight"], sd["dense_1.bias"]), 1).numpy()
print(json.dumps({"rel": float(np.abs(out - keras).max() / np.abs(keras).max()), "top1": float((out.argmax(1) == keras.argmax(1)).mean())}))
`;

// The Keras file as model.save would write it: the same weights under model_weights, the
// config in the root's model_config attribute (h5py, as Keras does it).
const AS_MODEL_SAVE = String.raw`
import sys, h5py
src = h5py.File(sys.argv[1], "r"); out = h5py.File(sys.argv[3], "w")
out.attrs["model_config"] = open(sys.argv[2]).read()
out.attrs["keras_version"] = "2.0.0"; out.attrs["backend"] = "tensorflow"
g = out.create_group("model_weights")
for k, v in src.attrs.items(): g.attrs[k] = v
for name in src: src.copy(name, g)
`;

// torch: Conv2d(3,4,3) → ReLU → MaxPool2d(2) → Flatten → Linear(36, 5) on 3x8x8, saved as a bare
// state_dict, a whole model and a TorchScript archive.
const TORCH_MODEL = String.raw`
import sys, torch, numpy as np
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(36, 5))
with torch.no_grad():
    for p in m.parameters(): p.copy_(torch.randn_like(p))
d = sys.argv[1]
torch.save(m.state_dict(), d + "/sd.pt")
torch.save(m, d + "/whole.pt")
torch.jit.script(m).save(d + "/script.pt")
x = torch.randn(16, 3, 8, 8)
np.save(d + "/x.npy", x.numpy()); np.save(d + "/y.npy", m(x).detach().numpy())
`;

// numpy Keras: Conv2D (valid, HWIO) → ReLU → MaxPooling2D(2) → Flatten (H,W,C) → Dense, on the converted kernels.
const KERAS_FORWARD = String.raw`
import sys, json, struct, numpy as np
raw = open(sys.argv[2], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; header = json.loads(raw[8:8 + n])
w = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4").reshape(v["shape"]) for k, v in header.items() if k != "__metadata__"}
x = np.load(sys.argv[1] + "/x.npy").transpose(0, 2, 3, 1); y = np.load(sys.argv[1] + "/y.npy")
k = w["0/kernel:0"]; out = np.zeros((16, 6, 6, 4))
for i in range(3):
    for j in range(3):
        out += np.einsum("nhwc,co->nhwo", x[:, i:i + 6, j:j + 6, :], k[i, j])
h = np.maximum(out + w["0/bias:0"], 0).reshape(16, 3, 2, 3, 2, 4).max(axis=(2, 4))
keras = h.reshape(16, -1) @ w["4/kernel:0"] + w["4/bias:0"]
print(json.dumps({"rel": float(np.abs(keras - y).max() / np.abs(y).max())}))
`;

const rel = (out: string) => JSON.parse(out.trim().split("\n").pop()!) as { rel: number; top1?: number };

describe.skipIf(!hasPythonModules("torch", "h5py", "numpy"))("Flatten → Dense row order (issue 15 case 1)", { timeout: 360_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-flatten-"));

  it("a Keras save_weights file without its config is refused, naming the --layer that settles it", () => {
    const r = runCli(["convert", KERAS_H5, join(dir, "refused.pt"), "--map", "keras2torch"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("dense_1 follows convolutions (conv2d_1, 2 channels) with 128 = 2×64 inputs");
    expect(r.stderr).toContain("--layer '^dense_1/=linear(flatten=2,8,8)'");
  });

  it("the real Keras Conv2D → Flatten → Dense file with --keras-config computes what Keras computes", () => {
    const out = join(dir, "with-config.pt");
    const r = runCli(["convert", KERAS_H5, out, "--map", "keras2torch", "--keras-config", KERAS_JSON]);
    expect(r.code).toBe(0);
    const m = rel(runPython(KERAS_VS_TORCH, [KERAS_H5, out]));
    expect(m.rel).toBeLessThan(1e-4);
    expect(m.top1).toBe(1);
  });

  it("a model.save file (model_config inside) needs nothing more; flatten=none reproduces the old garbage", () => {
    const saved = join(dir, "model-save.h5");
    runPython(AS_MODEL_SAVE, [KERAS_H5, KERAS_JSON, saved]);
    const out = join(dir, "model-save.pt");
    expect(runCli(["convert", saved, out, "--map", "keras2torch"]).code).toBe(0);
    expect(rel(runPython(KERAS_VS_TORCH, [KERAS_H5, out])).rel).toBeLessThan(1e-4);
    const wrong = join(dir, "no-reorder.pt");
    expect(runCli(["convert", KERAS_H5, wrong, "--map", "keras2torch", "--layer", "^dense_1/=linear(flatten=none)"]).code).toBe(0);
    // What every keras2torch conversion of this file computed before: rows in Keras' order.
    expect(rel(runPython(KERAS_VS_TORCH, [KERAS_H5, wrong])).rel).toBeGreaterThan(1e-2);
  });

  it("--layer flatten=C,H,W states the shape for a file that cannot", () => {
    const out = join(dir, "layer.pt");
    expect(runCli(["convert", KERAS_H5, out, "--map", "keras2torch", "--layer", "^dense_1/=linear(flatten=2,8,8)"]).code).toBe(0);
    expect(rel(runPython(KERAS_VS_TORCH, [KERAS_H5, out])).rel).toBeLessThan(1e-4);
    const bad = runCli(["convert", KERAS_H5, join(dir, "bad.pt"), "--map", "keras2torch", "--layer", "^dense_1/=linear(flatten=2,8,7)"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("2×8×7 = 112, but the layer has 128 inputs");
  });

  describe("torch → Keras", () => {
    beforeAll(() => void runPython(TORCH_MODEL, [dir]));

    it("a bare state_dict (Linear after convs, 36 = 4×9 inputs) is refused unless --layer says the shape", () => {
      const r = runCli(["convert", join(dir, "sd.pt"), join(dir, "sd.safetensors"), "--map", "torch2keras"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("4 follows convolutions (0, 4 channels) with 36 = 4×9 inputs");
      expect(r.stderr).toContain("--layer '^4\\.=linear(flatten=4,3,3)'");
      const out = join(dir, "sd-layer.safetensors");
      expect(runCli(["convert", join(dir, "sd.pt"), out, "--map", "torch2keras", "--layer", "^4\\.=linear(flatten=4,3,3)"]).code).toBe(0);
      expect(rel(runPython(KERAS_FORWARD, [dir, out])).rel).toBeLessThan(1e-4);
    });

    for (const file of ["whole.pt", "script.pt"]) {
      it(`a ${file === "whole.pt" ? "whole-model pickle" : "TorchScript archive"} says it (nn.Sequential with nn.Flatten): converted without help`, () => {
        const out = join(dir, `${file}.safetensors`);
        const r = runCli(["convert", join(dir, file), out, "--map", "torch2keras"]);
        expect(r.stderr).not.toContain("error");
        expect(r.code).toBe(0);
        expect(rel(runPython(KERAS_FORWARD, [dir, out])).rel).toBeLessThan(1e-4);
      });
    }
  });
});
