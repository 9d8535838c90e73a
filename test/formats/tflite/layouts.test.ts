import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { memorySource } from "../../../src/io/source.js";
import { readTflite } from "../../../src/formats/tflite/read.js";
import { mapCheckpoint } from "../../../src/mapping/index.js";
import { TensorType } from "../../../src/formats/tflite/generated/tensor-type.js";
import { BuiltinOperator } from "../../../src/formats/tflite/generated/builtin-operator.js";
import { buildModel } from "./build-model.js";

// Layouts no converter-written fixture here exercises, on models built with the generated builders.
//
// A FULLY_CONNECTED after a RESHAPE of an NHWC feature map reads its inputs in H,W,C order;
// torch's Flatten gives C,H,W. tflite2torch reorders the weight's rows so that
// W_torch · flatten_nchw(x) = W_tflite · flatten_nhwc(x) for every x.

const [H, W, C, OUT] = [2, 3, 4, 5];

function floats(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

describe("tflite: Flatten → FULLY_CONNECTED", () => {
  it("the RESHAPE of a [1, H, W, C] map reorders the torch weight's rows to C,H,W", async () => {
    const weights = Array.from({ length: OUT * H * W * C }, (_, i) => ((i * 37) % 101) / 10 - 5);
    const model = buildModel(
      [
        { name: "features", type: TensorType.FLOAT32, shape: [1, H, W, C] },
        { name: "flatten/shape", type: TensorType.INT32, shape: [2], data: new Uint8Array(Int32Array.from([1, H * W * C]).buffer) },
        { name: "flatten/Reshape", type: TensorType.FLOAT32, shape: [1, H * W * C] },
        { name: "head/MatMul", type: TensorType.FLOAT32, shape: [OUT, H * W * C], data: floats(weights) },
        { name: "head/BiasAdd", type: TensorType.FLOAT32, shape: [OUT], data: floats([1, 2, 3, 4, 5]) },
        { name: "head/MatMul;head/BiasAdd", type: TensorType.FLOAT32, shape: [1, OUT] },
      ],
      [
        { op: BuiltinOperator.RESHAPE, inputs: [0, 1], outputs: [2] },
        { op: BuiltinOperator.FULLY_CONNECTED, inputs: [2, 3, 4], outputs: [5] },
      ],
    );
    const source = await readTflite(memorySource(model, "flatten.tflite"), { dequantize: true });
    expect(source.tensors.find((t) => t.name === "head/MatMul")!.layer!.attributes!.flattenedFrom).toEqual({ channels: C, spatial: [H, W] });
    const { checkpoint } = await mapCheckpoint(source, { map: "tflite2torch" });
    expect(checkpoint.tensors.map((t) => t.name)).toEqual(["head.weight", "head.bias"]);
    const torch = new Float32Array(new Uint8Array(await checkpoint.tensors[0]!.data.read()).buffer);
    const x = Array.from({ length: H * W * C }, (_, i) => Math.sin(i + 1));
    for (let o = 0; o < OUT; o++) {
      let nhwc = 0;
      let nchw = 0;
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          for (let c = 0; c < C; c++) {
            const value = x[(h * W + w) * C + c]!;
            nhwc += weights[o * H * W * C + (h * W + w) * C + c]! * value;
            nchw += torch[o * H * W * C + c * H * W + h * W + w]! * value;
          }
        }
      }
      expect(nchw).toBeCloseTo(nhwc, 4);
    }
    expect(Buffer.from(torch.buffer).equals(Buffer.from(floats(weights)))).toBe(false);
  });
});

// TRANSPOSE_CONV filters are [out, H, W, in]; torch's ConvTranspose2d weight is [in, out, H, W].
// TFLite's op (VALID padding): out[y·s + i, x·s + j, o] += in[y, x, c] · W[o, i, j, c].
const TRANSPOSE_CONV_RUN = `
import sys, json, numpy as np, torch
plan = json.load(open(sys.argv[1]))
w_tfl = np.array(plan["tflite"]).reshape(plan["shape"])          # O H W I
O, KH, KW, I = w_tfl.shape; s = 2
x = np.random.default_rng(5).uniform(-1, 1, (3, 3, I))
want = np.zeros(((3 - 1) * s + KH, (3 - 1) * s + KW, O))
for y in range(3):
    for xx in range(3):
        want[y * s:y * s + KH, xx * s:xx * s + KW, :] += np.einsum("c,oijc->ijo", x[y, xx], w_tfl)
w = torch.tensor(plan["torch"], dtype=torch.float64).reshape(plan["torch_shape"])
got = torch.nn.functional.conv_transpose2d(torch.from_numpy(x).permute(2, 0, 1)[None], w, stride=s)[0].permute(1, 2, 0).numpy()
print(json.dumps({"max_abs": float(np.max(np.abs(got - want))), "scale": float(np.max(np.abs(want)))}))
`;

describe.skipIf(!hasPythonModules("torch", "numpy"))("tflite: TRANSPOSE_CONV → torch ConvTranspose2d", () => {
  it("the mapped [in, out, H, W] weight computes TFLite's transpose convolution", async () => {
    const [O, KH, KW, I] = [3, 2, 3, 4];
    const values = Array.from({ length: O * KH * KW * I }, (_, i) => Math.cos(i * 0.7));
    const model = buildModel(
      [
        { name: "deconv/output_shape", type: TensorType.INT32, shape: [4], data: new Uint8Array(Int32Array.from([1, 6, 7, O]).buffer) },
        { name: "deconv/weights", type: TensorType.FLOAT32, shape: [O, KH, KW, I], data: floats(values) },
        { name: "input", type: TensorType.FLOAT32, shape: [1, 3, 3, I] },
        { name: "deconv/conv2d_transpose", type: TensorType.FLOAT32, shape: [1, 6, 7, O] },
      ],
      [{ op: BuiltinOperator.TRANSPOSE_CONV, inputs: [0, 1, 2], outputs: [3] }],
    );
    const source = await readTflite(memorySource(model, "deconv.tflite"));
    const { checkpoint } = await mapCheckpoint(source, { map: "tflite2torch" });
    expect(checkpoint.tensors.map((t) => `${t.name} [${t.shape}]`)).toEqual([`deconv.weight [${I},${O},${KH},${KW}]`]);
    const torch = [...new Float32Array(new Uint8Array(await checkpoint.tensors[0]!.data.read()).buffer)];
    const dir = mkdtempSync(join(tmpdir(), "tflite-deconv-"));
    const plan = join(dir, "plan.json");
    const stored = [...new Float32Array(floats(values).buffer)];
    writeFileSync(plan, JSON.stringify({ tflite: stored, shape: [O, KH, KW, I], torch, torch_shape: checkpoint.tensors[0]!.shape }));
    const result = JSON.parse(runPython(TRANSPOSE_CONV_RUN, [plan])) as { max_abs: number; scale: number };
    expect(result.scale).toBeGreaterThan(0.1);
    expect(result.max_abs).toBeLessThan(1e-5 * result.scale);
  });
});
