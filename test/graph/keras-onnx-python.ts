import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { runPython } from "../helpers/python.js";
import { writeBytes } from "../../src/api/write.js";
import { convert } from "../../src/api/convert.js";
import { bytesData, makeTensor, type Tensor } from "../../src/tensor/tensor.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";
import { DIR, WRITTEN, seeded, type CaseResult } from "./keras-onnx-harness.js";

// For layers and options TensorFlow.js does not implement (groups, causal padding, ELU's alpha,
// ReLU's threshold, GRU reset_after=True, Subtract, 1D/3D padding and upsampling, Keras 3's
// hard_sigmoid ...): the converted graph in onnxruntime against the layer written out with
// PyTorch's functional ops and numpy (Debian's python3), fed the same weights and inputs.

const PRELUDE = String.raw`
import json, sys, numpy as np, torch, torch.nn.functional as F
d = json.load(open(sys.argv[1]))
x = np.array(d["x"], dtype=np.float32).reshape(d["xShape"])
W = {k: np.array(v["values"], dtype=np.float32).reshape(v["shape"]) for k, v in d["weights"].items()}
T = lambda a: torch.from_numpy(np.ascontiguousarray(a))
nchw = lambda a: np.moveaxis(a, -1, 1)
nhwc = lambda a: np.moveaxis(a, 1, -1)
sigmoid = lambda a: 1 / (1 + np.exp(-a))
`;

export async function runPythonCase(
  name: string,
  config: JsonValue,
  weights: Record<string, number[]>,
  inputShape: number[],
  python: string,
  options: { kerasVersion?: string; intBelow?: number } = {},
): Promise<CaseResult> {
  const random = seeded(7);
  const tensors: Tensor[] = [];
  const weightValues: Record<string, { shape: number[]; values: number[] }> = {};
  for (const [weightName, shape] of Object.entries(weights)) {
    const positive = /variance/.test(weightName);
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (positive ? random(0.5, 1.5) : random(-0.5, 0.5)));
    tensors.push(makeTensor(weightName, "float32", shape, bytesData(new Uint8Array(values.buffer))));
    weightValues[weightName.replace(/:\d+$/, "")] = { shape, values: Array.from(values) };
  }
  const h5 = join(DIR, `${name}.h5`);
  writeFileSync(h5, await writeBytes({ tensors, meta: { model_config: config, keras_version: options.kerasVersion ?? "2.15.0" } }, "keras-h5"));
  const onnxPath = join(DIR, `${name}.onnx`);
  await convert(h5, onnxPath, { force: true });
  WRITTEN.push(onnxPath);
  const n = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, () => (options.intBelow ? Math.floor(random(0, options.intBelow)) : random()));
  const io = join(DIR, `${name}.json`);
  writeFileSync(io, JSON.stringify({ x: Array.from(x), xShape: inputShape, weights: weightValues }));
  const expected = JSON.parse(
    runPython(`${PRELUDE}\n${python}\nprint(json.dumps({"y": np.asarray(y, dtype=np.float64).ravel().tolist(), "shape": list(np.shape(y))}))`, [io]),
  ) as { y: number[]; shape: number[] };
  const session = await ort.InferenceSession.create(onnxPath);
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, inputShape) });
  const got = out[session.outputNames[0]!]!;
  if (got.dims.join() !== expected.shape.join()) throw new Error(`${name}: ONNX gives [${got.dims.join(",")}], the reference [${expected.shape.join(",")}]`);
  const have = got.data as Float32Array;
  const rms = Math.sqrt(expected.y.reduce((s, v) => s + v * v, 0) / Math.max(1, expected.y.length));
  let maxRel = 0;
  let maxAbs = 0;
  expected.y.forEach((v, i) => {
    const d = Math.abs(v - have[i]!);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(v), rms, 1e-30));
  });
  return { maxRel, maxAbs, onnx: onnxPath, outputs: 1, scale: rms, spread: Math.max(...expected.y) - Math.min(...expected.y) };
}
