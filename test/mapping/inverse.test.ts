import { describe, expect, it } from "vitest";
import { bytesData } from "../../src/tensor/tensor.js";
import { applyTransform, type Lazy, type TransformContext } from "../../src/mapping/transforms.js";
import { assemble } from "../../src/mapping/inverse.js";
import type { Transform } from "../../src/mapping/types.js";

const ctx: TransformContext = { tensor: "t", attributes: {}, heuristic: () => {} };
const lazy = (shape: number[]): Lazy => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: "float32", shape, data: bytesData(new Uint8Array(Float32Array.from({ length: n }, (_, i) => i).buffer)) };
};
const forward = (t: Lazy, specs: Transform[]): Lazy => specs.reduce((x, s) => applyTransform(x, s, ctx)?.tensor ?? x, t);

describe("assemble: rule outputs run backwards", () => {
  it("a bidirectional ONNX LSTM bias comes back from onnx2torch's four pieces", async () => {
    // onnx2torch#lstm-B-bidirectional: [2, 8H] → chunk(direction) → [8H] → chunk(ih|hh) → gates.
    const gates: Transform = { op: "gates", axis: 0, count: 4, order: [0, 2, 3, 1] };
    const outputs: Transform[][] = [0, 1].flatMap((d) =>
      [0, 1].map((k): Transform[] => [
        { op: "chunk", axis: 0, chunks: 2, index: d },
        { op: "reshape", shape: ["d1"] },
        { op: "chunk", axis: 0, chunks: 2, index: k },
        gates,
      ]),
    );
    const whole = lazy([2, 32]);
    const pieces = outputs.map((transforms) => ({ transforms, tensor: forward(whole, transforms) }));
    const back = assemble([2, 32], pieces, ctx)!;
    expect(back.shape).toEqual([2, 32]);
    expect(await back.data.read()).toEqualBytes(await whole.data.read());
  });

  it("a transpose is undone; a missing chunk or a lossy transform gives nothing", async () => {
    const whole = lazy([3, 5]);
    const t: Transform[] = [{ op: "transpose", perm: [1, 0] }];
    expect(await assemble([3, 5], [{ transforms: t, tensor: forward(whole, t) }], ctx)!.data.read()).toEqualBytes(await whole.data.read());
    const half: Transform[] = [{ op: "chunk", axis: 0, chunks: 3, index: 0 }];
    expect(assemble([3, 5], [{ transforms: half, tensor: forward(whole, half) }], ctx)).toBeUndefined();
    expect(assemble([3, 5], [{ transforms: [{ op: "fill", value: 0 }], tensor: whole }], ctx)).toBeUndefined();
  });
});
