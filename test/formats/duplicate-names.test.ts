import { describe, expect, it } from "vitest";
import { writeBytes } from "../../src/api/write.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import type { FormatId } from "../../src/formats/index.js";
import { isWeightbridgeError } from "../../src/errors.js";

// Two tensors under one name: every writer refuses with the same one-line error (tensor/checkpoint.ts
// checkUniqueNames), instead of keeping one of them or writing a file its loader refuses.

const twice: Checkpoint = {
  tensors: ["dense/kernel:0", "dense/kernel:0"].map((name, i) =>
    makeTensor(name, "float32", [2], bytesData(new Uint8Array(new Float32Array([i, i + 1]).buffer))),
  ),
  meta: {},
};

describe("duplicate tensor names", () => {
  const formats: FormatId[] = ["safetensors", "keras-h5", "keras", "onnx", "paddle", "tf-checkpoint"];
  for (const format of formats) {
    it(`${format}: refused as "duplicate tensor name", naming the tensor`, async () => {
      const error = await writeBytes(twice, format).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!isWeightbridgeError(error)) throw new Error(`expected a WeightbridgeError, got ${String(error)}`);
      expect([error.code, error.message, error.location.tensor]).toEqual(["usage", "duplicate tensor name", "dense/kernel:0"]);
    });
  }
});
