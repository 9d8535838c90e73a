import { describe, expect, it } from "vitest";
import { memorySource } from "../../../src/io/source.js";
import { readTflite } from "../../../src/formats/tflite/read.js";
import { mapCheckpoint } from "../../../src/mapping/index.js";
import { TensorType } from "../../../src/formats/tflite/generated/tensor-type.js";
import { BuiltinOperator } from "../../../src/formats/tflite/generated/builtin-operator.js";
import { buildModel } from "./build-model.js";

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
