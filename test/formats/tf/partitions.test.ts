import { describe, expect, it } from "vitest";
import { read } from "../../../src/api/open.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { utf8 } from "../../../src/util/bytes.js";
import { sliceKey, type Extent } from "../../../src/formats/tensorflow/slices.js";
import { bundle, floats, shape, type Raw } from "./bundle-builder.js";
import { readRefusal } from "../../helpers/refusal.js";

// Partitioned variables whose slices do not tile the tensor exactly: TensorFlow refuses them
// ("does not have sufficient slices"); zero-filling the rest would be silently wrong.

const name = utf8("emb/weights");
const slice = (extents: Extent[], values: number[]): Raw => ({
  key: sliceKey(name, extents),
  entry: { dtype: 1, shape: shape(...extents.map((e, d) => (e.length < 0 ? [4, 2][d]! : e.length))) },
  bytes: floats(...values),
});
const proto = (extents: Extent[]) => ({ extent: extents.map((e) => (e.length < 0 ? {} : { start: e.start, length: e.length })) });

function partitioned(dims: number[], extents: Extent[][]): string {
  const entries: Raw[] = extents.map((ex) => {
    const n = ex.reduce((a, e, d) => a * (e.length < 0 ? dims[d]! : e.length), 1);
    return slice(
      ex,
      Array.from({ length: n }, (_, i) => i + 1),
    );
  });
  entries.push({ key: name, entry: { dtype: 1, shape: shape(...dims), slices: extents.map(proto) } });
  // Another variable, so a gap is not already caught by the data file being too small.
  entries.push({ key: utf8("other"), entry: { dtype: 1, shape: shape(8) }, bytes: floats(0, 0, 0, 0, 0, 0, 0, 0) });
  return bundle(entries);
}

const rows = (start: number, length: number): Extent[] => [
  { start, length },
  { start: 0, length: -1 },
];

describe("partitioned TF variables must be tiled exactly by their slices", () => {
  it("a gap is refused when the checkpoint is opened, not zero-filled", async () => {
    const error = await readRefusal(partitioned([4, 2], [rows(0, 2), rows(3, 1)]), { opening: true });
    expect(error.code).toBe("corrupt");
    expect(error.message).toMatch(/cover 6 of its 8 elements .*not sufficient slices/);
  });

  it("overlapping slices are refused, also when their volumes add up to the whole", async () => {
    expect((await readRefusal(partitioned([4, 2], [rows(0, 2), rows(1, 2)]), { opening: true })).message).toMatch(/overlap/);
    expect((await readRefusal(partitioned([4, 2], [rows(0, 3), rows(2, 2)]), { opening: true })).message).toMatch(/overlap/);
  });

  it("a slice outside the tensor is refused", async () => {
    expect((await readRefusal(partitioned([4, 2], [rows(0, 2), rows(2, 3)]), { opening: true })).message).toMatch(/outside dimension 0/);
  });

  it("a 2x2 grid of slices (both axes partitioned) assembles into the tensor", async () => {
    const grid: Extent[][] = [
      [
        { start: 0, length: 2 },
        { start: 0, length: 1 },
      ],
      [
        { start: 0, length: 2 },
        { start: 1, length: 1 },
      ],
      [
        { start: 2, length: 2 },
        { start: 0, length: 1 },
      ],
      [
        { start: 2, length: 2 },
        { start: 1, length: 1 },
      ],
    ];
    const c = await read(partitioned([4, 2], grid));
    const values = [...new Float32Array((await c.tensors.find((t) => t.name === "emb/weights")!.data.read()).slice().buffer)];
    // Each slice holds 1, 2 down its column: rows 0-1 then 2-3 of each column.
    expect(values).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    await c.close();
  });
});

describe("declared sizes are bounded by the data files' sizes", () => {
  it.each([
    ["1 GiB", [1 << 14, 1 << 14]],
    ["4 TiB", [1 << 20, 1 << 20]],
  ])("a tiny index declaring a %s partitioned tensor is refused before anything is allocated", async (_label, dims) => {
    const path = partitioned(dims as number[], [
      [
        { start: 0, length: 1 },
        { start: 0, length: 1 },
      ],
    ]);
    const error = await readRefusal(path, { opening: true });
    expect(error.code).toBe("corrupt");
    expect(error.message).toMatch(/more than the data files hold/);
  });

  it("a plain (unpartitioned) entry declaring more than the data files is refused too", async () => {
    const path = bundle([{ key: utf8("w"), entry: { dtype: 1, shape: shape(1 << 20, 1 << 20) }, bytes: floats(1) }]);
    expect((await readRefusal(path, { opening: true })).code).toBe("corrupt");
  });
});
