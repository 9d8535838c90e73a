import { describe, expect, it } from "vitest";
import { reorderBlocks, chunkBytes, concatBytes } from "../../src/mapping/layout.js";
import { permuteBytes } from "../../src/kernels/permute.js";
import { applyTransform, type Lazy, type TransformContext } from "../../src/mapping/transforms.js";
import { bytesData } from "../../src/tensor/tensor.js";
import { type DType, dtypeSize, numelOf } from "../../src/tensor/dtype.js";
import { randomBytes, referencePermute, f32Bytes, floats } from "./helpers.js";

const ctx = (attributes: Record<string, unknown> = {}, heuristics: string[] = []): TransformContext => ({
  tensor: "x",
  attributes,
  heuristic: (h) => heuristics.push(h),
});

function lazy(dtype: DType, shape: number[], bytes: Uint8Array): Lazy {
  return { dtype, shape, data: bytesData(bytes) };
}

describe("permuteBytes", () => {
  const dtypes: DType[] = ["float32", "bfloat16", "float16", "bool", "int8", "float64", "int64", "complex64", "complex128"];
  const cases: Array<[number[], number[]]> = [
    [
      [3, 5],
      [1, 0],
    ],
    [
      [2, 3, 4],
      [2, 1, 0],
    ],
    [
      [4, 3, 2, 5],
      [2, 3, 1, 0],
    ],
    [
      [2, 3, 2, 2],
      [3, 2, 0, 1],
    ],
    [
      [2, 1, 3, 2, 2],
      [2, 3, 4, 1, 0],
    ],
    [
      [1, 6],
      [1, 0],
    ],
    [
      [3, 1, 2],
      [0, 2, 1],
    ],
  ];
  for (const dtype of dtypes) {
    it(`moves ${dtype} elements exactly like numpy.transpose`, () => {
      const size = dtypeSize(dtype);
      for (const [shape, perm] of cases) {
        const bytes = randomBytes(numelOf(shape) * size, shape.length * 31 + size);
        expect(permuteBytes(bytes, shape, size, perm)).toEqualBytes(referencePermute(bytes, shape, size, perm));
      }
    });
  }

  it("keeps NaN payloads and signalling NaNs bit for bit", () => {
    const words = new Uint32Array([0x7fa00001, 0xffc00123, 0x7f800001, 0x00000001, 0x80000000, 0x7fffffff]);
    const bytes = new Uint8Array(words.buffer);
    const out = new Uint32Array(permuteBytes(bytes, [2, 3], 4, [1, 0]).slice().buffer);
    expect(Array.from(out)).toEqual([0x7fa00001, 0x00000001, 0xffc00123, 0x80000000, 0x7f800001, 0x7fffffff]);
  });

  it("works on unaligned views", () => {
    const backing = randomBytes(1 + 6 * 4, 3);
    const view = backing.subarray(1);
    expect(permuteBytes(view, [2, 3], 4, [1, 0])).toEqualBytes(referencePermute(view, [2, 3], 4, [1, 0]));
  });

  it("a transpose and its inverse give back the original bytes", () => {
    const bytes = randomBytes(3 * 4 * 5 * 6 * 2, 9);
    const there = permuteBytes(bytes, [3, 4, 5, 6], 2, [2, 3, 1, 0]);
    const back = permuteBytes(there, [5, 6, 4, 3], 2, [3, 2, 0, 1]);
    expect(back).toEqualBytes(bytes);
  });

  it("handles empty and 0-d tensors", () => {
    expect(permuteBytes(new Uint8Array(0), [0, 3], 4, [1, 0]).byteLength).toBe(0);
    const one = randomBytes(4);
    expect(permuteBytes(one, [], 4, [])).toEqualBytes(one);
  });
});

describe("block operations", () => {
  it("reorders GRU gates r,z,n → z,r,n along rows", () => {
    // 3 gates × 2 rows × 2 cols, values = gate*100 + row*10 + col
    const a = new Float32Array(12).map((_, i) => Math.floor(i / 4) * 100 + (Math.floor(i / 2) % 2) * 10 + (i % 2));
    const out = floats(reorderBlocks(new Uint8Array(a.buffer), [6, 2], 4, 0, [1, 0, 2]));
    expect(out).toEqual([100, 101, 110, 111, 0, 1, 10, 11, 200, 201, 210, 211]);
  });

  it("reorders gates along the last axis of a 2-row bias", () => {
    const a = new Float32Array([0, 1, 2, 10, 11, 12]);
    expect(floats(reorderBlocks(new Uint8Array(a.buffer), [2, 3], 4, 1, [1, 0, 2]))).toEqual([1, 0, 2, 11, 10, 12]);
  });

  it("chunks and concatenates along any axis", () => {
    const a = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const bytes = new Uint8Array(a.buffer);
    expect(floats(chunkBytes(bytes, [3, 4], 4, 0, 3, 1))).toEqual([4, 5, 6, 7]);
    expect(floats(chunkBytes(bytes, [3, 4], 4, 1, 2, 1))).toEqual([2, 3, 6, 7, 10, 11]);
    const left = chunkBytes(bytes, [3, 4], 4, 1, 2, 0);
    const right = chunkBytes(bytes, [3, 4], 4, 1, 2, 1);
    expect(
      concatBytes(
        [
          { bytes: left, shape: [3, 2] },
          { bytes: right, shape: [3, 2] },
        ],
        4,
        1,
      ),
    ).toEqualBytes(bytes);
  });
});

describe("transforms", () => {
  it("transpose is lazy and reports itself", async () => {
    let reads = 0;
    const bytes = f32Bytes(6);
    const source: Lazy = {
      dtype: "float32",
      shape: [2, 3],
      data: {
        byteLength: 24,
        read: async () => (reads++, bytes),
        chunks: async function* () {
          yield bytes;
        },
      },
    };
    const r = applyTransform(source, { op: "transpose", perm: [1, 0] }, ctx())!;
    expect(reads).toBe(0);
    expect(r.tensor.shape).toEqual([3, 2]);
    expect(r.note).toBe("transpose(1,0)");
    expect(await r.tensor.data.read()).toEqualBytes(referencePermute(bytes, [2, 3], 4, [1, 0]));
    expect(reads).toBe(1);
  });

  it("reshape resolves dN, attr: and fallbacks, naming the fallback", () => {
    const heuristics: string[] = [];
    const src = lazy("float32", [3, 3, 8, 1], f32Bytes(72));
    const r1 = applyTransform(src, { op: "reshape", shape: ["d0", "d1", "attr:groups|d2", -1] }, ctx({ groups: 4 }, heuristics))!;
    expect(r1.tensor.shape).toEqual([3, 3, 4, 2]);
    expect(heuristics).toEqual([]);
    const r2 = applyTransform(src, { op: "reshape", shape: ["d0", "d1", "attr:groups|d2", -1] }, ctx({}, heuristics));
    expect(r2).toBeUndefined(); // [3,3,8,1] → same shape: nothing to report
    expect(heuristics[0]).toMatch(/used 'd2'/);
    expect(() => applyTransform(src, { op: "reshape", shape: [5, -1] }, ctx())).toThrow(/does not fit/);
  });

  it("fill keeps shape and dtype", async () => {
    const r = applyTransform(lazy("bfloat16", [4], randomBytes(8)), { op: "fill", value: 0 }, ctx())!;
    expect(await r.tensor.data.read()).toEqualBytes(new Uint8Array(8));
  });

  it("cast goes through the shared float casts", async () => {
    const r = applyTransform(lazy("float32", [2], new Uint8Array(new Float32Array([1.5, -2]).buffer)), { op: "cast", dtype: "float16" }, ctx())!;
    expect(r.tensor.dtype).toBe("float16");
    expect(Array.from(new Uint16Array((await r.tensor.data.read()).slice().buffer))).toEqual([0x3e00, 0xc000]);
    expect(() => applyTransform(lazy("int64", [1], new Uint8Array(8)), { op: "cast", dtype: "float16" }, ctx())).toThrow(/cannot cast/);
  });

  it("flattenOrder turns a torch [out, C·H·W] weight into [out, H·W·C] rows", async () => {
    const C = 3,
      H = 2,
      W = 4,
      out = 5;
    // value encodes (o, c, h, w)
    const a = new Float32Array(out * C * H * W);
    for (let o = 0; o < out; o++)
      for (let c = 0; c < C; c++)
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) a[o * C * H * W + c * H * W + h * W + w] = o * 1000 + c * 100 + h * 10 + w;
    const attrs = { flattenedFrom: { channels: C, spatial: [H, W] } };
    const r = applyTransform(lazy("float32", [out, C * H * W], new Uint8Array(a.buffer)), { op: "flattenOrder", axis: 1, to: "channels_last" }, ctx(attrs))!;
    const v = floats(await r.tensor.data.read());
    expect(r.tensor.shape).toEqual([out, C * H * W]);
    // Keras flattens (h, w, c): feature index (h*W + w)*C + c
    for (let o = 0; o < out; o++)
      for (let c = 0; c < C; c++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++) {
            expect(v[o * C * H * W + (h * W + w) * C + c]).toBe(o * 1000 + c * 100 + h * 10 + w);
          }
    // and back, along axis 0 of a Keras kernel layout
    const kernel = applyTransform(r.tensor, { op: "transpose", perm: [1, 0] }, ctx())!.tensor;
    const back = applyTransform(kernel, { op: "flattenOrder", axis: 0, to: "channels_first" }, ctx(attrs))!;
    const torch = applyTransform(back.tensor, { op: "transpose", perm: [1, 0] }, ctx())!;
    expect(await torch.tensor.data.read()).toEqualBytes(new Uint8Array(a.buffer));
  });

  it("flattenOrder does nothing without the pre-flatten shape", () => {
    expect(applyTransform(lazy("float32", [2, 6], f32Bytes(12)), { op: "flattenOrder", axis: 1, to: "channels_last" }, ctx())).toBeUndefined();
  });
});
