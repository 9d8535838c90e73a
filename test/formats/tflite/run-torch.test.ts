import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { hasPythonTflite, pythonAccessors } from "../../helpers/flatc.js";
import { runCli } from "../../helpers/cli.js";
import { torchAgainstTflite } from "./lstm-runs.js";

// A float and an int8 model converted to PyTorch run in torch and match the TFLite ops'
// reference semantics computed in numpy from the .tflite itself (tflite_reference.py).

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");
const HERE = import.meta.dirname;

const TORCH_RUN = `
import sys, json, numpy as np, torch
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_reference as ref
ops = ref.load(sys.argv[3])
state = torch.load(sys.argv[4], weights_only=True)

# The network the mapped names describe: sequential.dense, sequential.dense_1, sequential.dense_2.
root = torch.nn.Module(); root.sequential = torch.nn.Module()
layers = []
for k, op in enumerate(ops):
    out_f, in_f = op["weights"]["data"].shape
    layer = torch.nn.Linear(in_f, out_f).double()
    setattr(root.sequential, "dense" if k == 0 else f"dense_{k}", layer)
    layers.append((layer, op["relu"]))
root.double().load_state_dict({k: v.double() for k, v in state.items()}, strict=True)

x = np.linspace(0, 2 * np.pi, 64).reshape(-1, 1)
result = {}
with torch.no_grad():
    if sys.argv[5] == "float":
        y = torch.from_numpy(x)
        for layer, relu in layers:
            y = layer(y); y = torch.relu(y) if relu else y
        want = ref.run_float(ops, x)
        result["max_rel"] = float(np.max(np.abs(y.numpy() - want) / np.maximum(np.abs(want), 1e-30)))
        result["max_abs"] = float(np.max(np.abs(y.numpy() - want)))
    else:
        # Layer by layer: torch on the int8 reference's dequantized input, then the layer's output
        # quantization; at most one step from the reference's int8 output.
        steps = []
        for (layer, relu), rec in zip(layers, ref.run_int8(ops, x)):
            xin = torch.from_numpy((rec["q_in"] - rec["in"]["zp"]) * rec["in"]["scale"])
            y = layer(xin); y = torch.relu(y) if relu else y
            q = np.clip(np.round(y.numpy() / rec["out"]["scale"]) + rec["out"]["zp"], -128, 127)
            steps.append(float(np.max(np.abs(q - rec["q_out"]))))
        result["steps"] = steps
print(json.dumps(result))
`;

describe.skipIf(!hasPythonTflite() || !hasPythonModules("torch", "numpy"))("tflite → PyTorch (--map tflite2torch) runs like the TFLite model", () => {
  it.each([
    ["hello_world_float", "float"],
    ["hello_world_int8", "int8"],
  ])("%s", (name, kind) => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-torch-"));
    const model = join(REAL, `${name}.tflite`);
    const pt = join(dir, `${name}.pt`);
    const r = runCli(["convert", model, pt, "--map", "tflite2torch"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(runPython(TORCH_RUN, [pythonAccessors(), HERE, model, pt, kind])) as { max_rel?: number; steps?: number[] };
    if (kind === "float") expect(result.max_rel!).toBeLessThan(1e-5);
    else {
      expect(result.steps).toHaveLength(3);
      for (const s of result.steps!) expect(s).toBeLessThanOrEqual(1);
    }
  });
});

// Convolutions: person_detect (int8 MobileNet v1, per-channel scales) converted with tflite2torch
// and run as torch Conv2d layers (depthwise ones with groups) on the dequantized weights, against
// the NHWC numpy reference read from the .tflite itself (tflite_conv_reference.py).
const TORCH_CONV_RUN = `
import sys, json, numpy as np, torch
import torch.nn.functional as F
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import tflite_conv_reference as ref
ops = ref.load(sys.argv[3])
state = torch.load(sys.argv[4], weights_only=True)
keys = list(state.keys())
x = np.random.default_rng(1).uniform(-1, 1, (2, 96, 96, 1))
want = ref.run(ops, x)
y = torch.from_numpy(x).permute(0, 3, 1, 2)
k = 0
with torch.no_grad():
    for e in ops:
        if e["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            wname, bname = keys[k], keys[k + 1]; k += 2
            assert wname.endswith(".weight") and bname == wname[:-len("weight")] + "bias", (wname, bname)
            w, b = state[wname].double(), state[bname].double()
            groups = y.shape[1] if e["op"] == "DEPTHWISE_CONV_2D" else 1
            (t, bo), (l, r) = ref.pads(y.shape[2], w.shape[2], e["stride"][0], e["same"]), ref.pads(y.shape[3], w.shape[3], e["stride"][1], e["same"])
            y = F.conv2d(F.pad(y, (l, r, t, bo)), w, b, stride=e["stride"], groups=groups)
            y = torch.clamp(y, 0, 6) if e["act"] == 3 else (torch.relu(y) if e["act"] == 1 else y)
        elif e["op"] == "AVERAGE_POOL_2D":
            assert not e["same"] or y.shape[2] == e["size"][0]
            y = F.avg_pool2d(y, e["size"], e["stride"])
        elif e["op"] == "RESHAPE":
            y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1)
        elif e["op"] == "SOFTMAX":
            y = torch.softmax(y, dim=1)
assert k == len(keys), (k, len(keys))
got = y.numpy()
print(json.dumps({"max_rel": float(np.max(np.abs(got - want) / np.abs(want))), "layers": k // 2, "want": want.ravel().tolist()}))
`;

describe.skipIf(!hasPythonTflite() || !hasPythonModules("torch", "numpy"))("tflite convolutions → PyTorch run like the TFLite ops", () => {
  it("person_detect: CONV_2D OHWI → OIHW and DEPTHWISE_CONV_2D 1HWC → C1HW (groups), per-channel dequantized", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-conv-"));
    const model = join(REAL, "person_detect.tflite");
    const pt = join(dir, "pd.pt");
    const r = runCli(["convert", model, pt, "--map", "tflite2torch"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(runPython(TORCH_CONV_RUN, [pythonAccessors(), HERE, model, pt])) as { max_rel: number; layers: number; want: number[] };
    expect(result.layers).toBe(28);
    // A softmax over two classes: not saturated, so a wrong layout shows.
    expect(Math.min(...result.want)).toBeGreaterThan(1e-6);
    expect(result.max_rel).toBeLessThan(1e-5);
  });
});

// UNIDIRECTIONAL_SEQUENCE_LSTM → nn.LSTM: the float mnist_lstm model (LSTM(20) → RESHAPE →
// FULLY_CONNECTED(10) → SOFTMAX) against TFLite's LSTM step in numpy (lstm-runs.ts).
// The model has cell_clip 10, which torch cannot do: the conversion accepts it with a --layer
// override, and the test checks the cell state stays inside the clip for its inputs.

describe.skipIf(!hasPythonTflite() || !hasPythonModules("torch", "numpy"))("tflite LSTM → PyTorch nn.LSTM runs like the TFLite op", () => {
  it("trained_lstm: gates concatenated in torch's order; a cell clip refused unless overridden", () => {
    const dir = mkdtempSync(join(tmpdir(), "tflite-lstm-"));
    const model = join(REAL, "trained_lstm.tflite");
    const pt = join(dir, "lstm.pt");
    const refused = runCli(["convert", model, pt, "--map", "tflite2torch"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cell or projection clip .*--layer 'REGEX=lstm\(cell_clip=0\)'/);
    const r = runCli(["convert", model, pt, "--map", "tflite2torch", "--layer", "^arith\\.constant=lstm(cell_clip=0)"]);
    expect(r.code, r.stderr).toBe(0);
    const result = torchAgainstTflite(model, pt);
    expect(result.clip).toBe(10);
    expect(result.peak).toBeLessThan(result.clip);
    expect(Math.max(...result.want)).toBeLessThan(0.999999);
    expect(result.maxRel).toBeLessThan(1e-5);
  });
});
