import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { runCli } from "../helpers/cli.js";

// Issue 27 items 1 and 2: a Flatten hidden behind quantizer or custom layers, and a Flatten shape
// the user states that the files contradict. The Keras files are written with h5py in Keras 2.13's
// model.save / save_weights layouts (as the real HGQ file fixtures/keras/real/hgq_jet_classifier.h5);
// the Keras side is computed with numpy from the .h5, the converted side with torch.

// model.save: Conv2D(4, 3×3) on 6×6×2 → (quantizer) → Flatten → Dense(5). `kind` picks the layer in between.
const MODEL_SAVE = String.raw`
import sys, json, h5py, numpy as np
kind = sys.argv[2]
rng = np.random.default_rng(1)
def layer(cls, name, inbound, **cfg):
    cfg["name"] = name
    return {"class_name": cls, "config": cfg, "name": name, "inbound_nodes": [[[inbound, 0, 0, {}]]] if inbound else []}
q = {"hgq": ("FixedPointQuantizer", "conv_quantizer"), "qkeras": ("QActivation", "conv_act"), "custom": ("MyScale", "conv_scale")}[kind]
layers = [layer("InputLayer", "input_1", None, batch_input_shape=[None, 6, 6, 2], dtype="float32"),
          layer("QConv2D" if kind == "qkeras" else "Conv2D", "conv", "input_1", filters=4, kernel_size=[3, 3], padding="valid", data_format="channels_last"),
          layer(q[0], q[1], "conv", shape=[1, 1, 1, 4], RND="TRN", SAT="WRAP", activation="quantized_bits(12,6)"),
          layer("Flatten", "flatten", q[1], data_format="channels_last"),
          layer("QDense" if kind == "qkeras" else "Dense", "fc", "flatten", units=5, use_bias=True)]
config = {"class_name": "Functional", "config": {"name": "model", "layers": layers, "input_layers": [["input_1", 0, 0]], "output_layers": [["fc", 0, 0]]}}
weights = {"input_1": {}, "conv": {"kernel:0": rng.standard_normal((3, 3, 2, 4)).astype("f4"), "bias:0": rng.standard_normal(4).astype("f4")},
           q[1]: {}, "flatten": {}, "fc": {"kernel:0": rng.standard_normal((64, 5)).astype("f4"), "bias:0": rng.standard_normal(5).astype("f4")}}
if kind == "hgq":
    weights[q[1]] = {"keep_negative:0": np.ones((1, 1, 1, 4), "i1"), "bits:0": np.full((1, 1, 1, 4), 12, "i1"), "integers:0": np.full((1, 1, 1, 4), 6, "i1")}
f = h5py.File(sys.argv[1], "w")
f.attrs["model_config"] = json.dumps(config); f.attrs["keras_version"] = "2.13.1"; f.attrs["backend"] = "tensorflow"
g = f.create_group("model_weights"); g.attrs["keras_version"] = "2.13.1"; g.attrs["backend"] = "tensorflow"
g.attrs["layer_names"] = np.array([n.encode() for n in weights])
for n, ws in weights.items():
    lg = g.create_group(n); lg.attrs["weight_names"] = np.array([f"{n}/{w}".encode() for w in ws])
    for w, v in ws.items(): lg.create_dataset(f"{n}/{w}", data=v)
`;

// The float model both sides compute (the quantizer as the identity), Keras in numpy, the converted state_dict in torch.
const CONV2D_VS_TORCH = String.raw`
import sys, json, h5py, numpy as np, torch
F = torch.nn.functional
f = h5py.File(sys.argv[1], "r")["model_weights"]
k = f["conv/conv/kernel:0"][()]; kb = f["conv/conv/bias:0"][()]; d = f["fc/fc/kernel:0"][()]; db = f["fc/fc/bias:0"][()]
x = np.random.default_rng(0).standard_normal((8, 6, 6, 2)).astype(np.float32)
conv = sum(np.einsum("nhwc,co->nhwo", x[:, i:i + 4, j:j + 4, :], k[i, j]) for i in range(3) for j in range(3)) + kb
keras = conv.reshape(8, -1) @ d + db
sd = torch.load(sys.argv[2], weights_only=True)
out = F.linear(F.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), sd["conv.weight"], sd["conv.bias"]).flatten(1), sd["fc.weight"], sd["fc.bias"]).numpy()
print(json.dumps({"rel": float(np.abs(out - keras).max() / np.abs(keras).max())}))
`;

// save_weights (no config): Conv1D(1 filter, kernel 3) on 12 steps × 2 channels → Flatten (10) → Dense(4).
const CONV1D_SAVE_WEIGHTS = String.raw`
import sys, h5py, numpy as np
rng = np.random.default_rng(2)
w = {"conv1d": {"kernel:0": rng.standard_normal((3, 2, 1)).astype("f4"), "bias:0": rng.standard_normal(1).astype("f4")},
     "flatten": {}, "fc": {"kernel:0": rng.standard_normal((10, 4)).astype("f4"), "bias:0": rng.standard_normal(4).astype("f4")}}
f = h5py.File(sys.argv[1], "w")
f.attrs["keras_version"] = "2.13.1"; f.attrs["backend"] = "tensorflow"; f.attrs["layer_names"] = np.array([n.encode() for n in w])
for n, ws in w.items():
    g = f.create_group(n); g.attrs["weight_names"] = np.array([f"{n}/{k}".encode() for k in ws])
    for k, v in ws.items(): g.create_dataset(f"{n}/{k}", data=v)
`;

const CONV1D_VS_TORCH = String.raw`
import sys, json, h5py, numpy as np, torch
F = torch.nn.functional
f = h5py.File(sys.argv[1], "r")
k = f["conv1d/conv1d/kernel:0"][()]; kb = f["conv1d/conv1d/bias:0"][()]; d = f["fc/fc/kernel:0"][()]; db = f["fc/fc/bias:0"][()]
x = np.random.default_rng(0).standard_normal((8, 12, 2)).astype(np.float32)
keras = (sum(np.einsum("nlc,co->nlo", x[:, i:i + 10, :], k[i]) for i in range(3)) + kb).reshape(8, -1) @ d + db
sd = torch.load(sys.argv[2], weights_only=True)
out = F.linear(F.conv1d(torch.from_numpy(x).permute(0, 2, 1), sd["conv1d.weight"], sd["conv1d.bias"]).flatten(1), sd["fc.weight"], sd["fc.bias"]).numpy()
print(json.dumps({"rel": float(np.abs(out - keras).max() / np.abs(keras).max())}))
`;

const rel = (out: string) => (JSON.parse(out.trim().split("\n").pop()!) as { rel: number }).rel;

describe.skipIf(!hasPythonModules("torch", "h5py", "numpy"))("a Flatten behind quantizer and custom layers (issue 27 items 1, 2)", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-lossless-flatten-"));
  const file = (kind: string) => join(dir, `${kind}.h5`);
  beforeAll(() => {
    for (const kind of ["hgq", "qkeras", "custom"]) runPython(MODEL_SAVE, [file(kind), kind]);
    runPython(CONV1D_SAVE_WEIGHTS, [file("conv1d")]);
  });

  for (const kind of ["hgq", "qkeras"]) {
    it(`${kind}: the quantizer between the Conv2D and the Flatten is known, the rows are reordered and torch computes what Keras computes`, () => {
      const out = join(dir, `${kind}.pt`);
      const r = runCli(["convert", file(kind), out, "--map", "keras2torch", "--report", join(dir, `${kind}.json`)]);
      expect(r.code, r.stderr).toBe(0);
      expect(rel(runPython(CONV2D_VS_TORCH, [file(kind), out]))).toBeLessThan(1e-5);
      const v = runCli(["verify", file(kind), out, "--map", "keras2torch"]);
      expect(v.code, v.stdout + v.stderr).toBe(0);
    });
  }

  it("verify fails the file the old conversion wrote (rows in Keras' order: flatten=none)", () => {
    const wrong = join(dir, "hgq-wrong.pt");
    expect(runCli(["convert", file("hgq"), wrong, "--map", "keras2torch", "--layer", "^fc/=linear(flatten=none)"]).code).toBe(0);
    expect(rel(runPython(CONV2D_VS_TORCH, [file("hgq"), wrong]))).toBeGreaterThan(0.1);
    const v = runCli(["verify", file("hgq"), wrong, "--map", "keras2torch"]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^fc\s.*FAIL/m);
  });

  it("a custom layer of unknown effect between the feature map and the Flatten is refused by name, for torch and Paddle; --layer settles it", () => {
    for (const [map, ext] of [
      ["keras2torch", "pt"],
      ["keras2paddle", "pdparams"],
    ] as const) {
      const r = runCli(["convert", file("custom"), join(dir, `custom.${ext}`), "--map", map]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("fc reads a Flatten of the output of conv_scale (MyScale), a layer weightbridge does not know");
      expect(r.stderr).toContain("--layer '^fc/=linear(flatten=C,H,W)'");
    }
    const out = join(dir, "custom.pt");
    expect(runCli(["convert", file("custom"), out, "--map", "keras2torch", "--layer", "^fc/=linear(flatten=4,4,4)"]).code).toBe(0);
    expect(rel(runPython(CONV2D_VS_TORCH, [file("custom"), out]))).toBeLessThan(1e-5);
  });

  it("a Flatten of a 1-channel Conv1D map needs no reorder: converted and computed; a stated flatten=2,5 contradicts the conv and is refused by convert and verify", () => {
    const out = join(dir, "conv1d.pt");
    const r = runCli(["convert", file("conv1d"), out, "--map", "keras2torch"]);
    expect(r.code, r.stderr).toBe(0);
    expect(rel(runPython(CONV1D_VS_TORCH, [file("conv1d"), out]))).toBeLessThan(1e-5);
    const flag = ["--layer", "^fc/=linear(flatten=2,5)"];
    const refused = runCli(["convert", file("conv1d"), join(dir, "conv1d-2x5.pt"), "--map", "keras2torch", ...flag]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--layer flatten=2,5 for fc/kernel:0 says 2 channel(s), but conv1d, the convolution it follows, says 1");
    expect(refused.stderr).toContain("--layer '^fc/=linear(flatten=1,10)'");
    const v = runCli(["verify", file("conv1d"), out, "--map", "keras2torch", ...flag]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain("says 2 channel(s), but conv1d");
  });
});
