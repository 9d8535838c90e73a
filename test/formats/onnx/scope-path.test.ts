import { describe, expect, it } from "vitest";
import { scopePath } from "../../../src/formats/onnx/layers.js";

// Node names torch 1.13's exporter wrote (test/integration/onnx-scope-names.test.ts exports them).
describe("scopePath: the module path of a scoped torch node name", () => {
  it.each([
    ["/conv1/Conv", "conv1"],
    ["/layer1/layer1.0/conv1/Conv", "layer1.0.conv1"],
    ["/enc/rnn/LSTM", "enc.rnn"],
    ["/enc/conv/conv.0/Conv", "enc.conv.0"],
    ["/blocks.0/proj/MatMul", "blocks.0.proj"],
    ["/features/features.0/features.0.1/Conv", "features.0.1"],
    ["/Relu", undefined],
  ])("%s → %s", (name, path) => expect(scopePath(name)).toBe(path));
});
