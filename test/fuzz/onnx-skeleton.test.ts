import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { memorySource } from "../../src/io/source.js";
import { readOnnxModel } from "../../src/formats/onnx/read.js";
import { WeightbridgeError } from "../../src/errors.js";
import { MUTATION_KINDS, mutate, rng } from "./mutate.js";
import { fixture } from "../helpers/fixtures.js";

// The skeleton reader (big inline .onnx files) walks the protobuf itself through a window: on
// mutated real files it must end in a checkpoint or a WeightbridgeError, never anything else.
const FILES = ["real/three_layer_pytorch.onnx", "real/three_layer_keras.onnx", "torch_conv_lstm.onnx"];

describe("ONNX skeleton reader on mutated real files", () => {
  for (const file of FILES) {
    it(`${file}: 150 mutations, only results or WeightbridgeErrors`, async () => {
      const original = new Uint8Array(readFileSync(fixture("onnx", file)));
      const random = rng(0x5eed + file.length);
      const bad: string[] = [];
      for (let i = 0; i < 150; i++) {
        const m = mutate(original, MUTATION_KINDS[i % MUTATION_KINDS.length]!, random);
        try {
          const c = await readOnnxModel(memorySource(m.bytes, file), {}, 0, 1);
          for (const t of c.tensors) for await (const _ of t.data.chunks(1 << 16));
        } catch (e) {
          if (!(e instanceof WeightbridgeError)) bad.push(`${m.detail}: ${e instanceof Error ? e.stack : String(e)}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
});
