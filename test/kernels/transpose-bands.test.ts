import { describe, expect, it } from "vitest";
import { permuteBytes } from "../../src/kernels/permute.js";
import { bandedTransposePlan, transposeBands } from "../../src/kernels/wasm/transpose-bands.js";
import { streamedInBands } from "../../src/kernels/banded-data.js";
import { bytesData } from "../../src/tensor/tensor.js";
import { randomBytes } from "../helpers/random.js";
import { concatBytes } from "../../src/util/bytes.js";

// Linear weights streamed to their writer in bands of output rows, straight from the kernels'
// memory: the bands must add up to exactly numpy's transpose, for every element size and for
// shapes that do not divide into whole bands or kernel blocks.

async function collect(chunks: AsyncIterable<Uint8Array>, maxBytes = Infinity): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) {
    expect(c.byteLength).toBeLessThanOrEqual(maxBytes);
    parts.push(c.slice()); // a band is valid only until the next one is asked for
  }
  return concatBytes(parts);
}

const never = () => {
  throw new Error("the banded path should have run");
};

describe("banded transposes", () => {
  const cases: Array<[number, number, number]> = [
    [768, 3072, 4], // BERT's intermediate Linear: many bands
    [3072, 768, 4],
    [5, 7, 4], // smaller than a kernel block
    [1000, 333, 2], // bfloat16, ragged bands
    [129, 65, 1],
    [300, 70, 8],
    [70_000, 3, 4], // one output row is longer than a band
  ];
  for (const [rows, cols, size] of cases) {
    it(`[${rows}, ${cols}] of ${size}-byte elements gives numpy's transpose`, async () => {
      const bytes = randomBytes(rows * cols * size, rows + cols);
      const plan = bandedTransposePlan([rows, cols], [1, 0], size);
      expect(plan).toEqual({ rows, cols, elementSize: size });
      const got = await collect(transposeBands(bytesData(bytes), plan!, 100_000, never), 100_000);
      expect(got).toEqualBytes(permuteBytes(bytes, [rows, cols], size, [1, 0]));
    });
  }

  it("plans only plain 2-D transposes that fit its bound", () => {
    expect(bandedTransposePlan([4, 1, 6], [2, 1, 0], 4)).toEqual({ rows: 4, cols: 6, elementSize: 4 }); // size-1 axes drop out
    expect(bandedTransposePlan([2, 3, 4], [1, 0, 2], 4)).toBeUndefined(); // rows of 4 elements move: 16-byte elements
    expect(bandedTransposePlan([2, 3, 4, 5], [2, 3, 1, 0], 4)).toBeUndefined(); // a batch of transposes
    expect(bandedTransposePlan([8192, 4096], [1, 0], 4)).toBeUndefined(); // 128 MiB: the whole-tensor path
  });

  it("leaves a second transpose to the whole-tensor path while one is streaming, and frees its window when abandoned", async () => {
    const a = randomBytes(64 * 48 * 4, 1);
    const b = randomBytes(32 * 16 * 4, 2);
    const plan = { rows: 64, cols: 48, elementSize: 4 };
    const first = transposeBands(bytesData(a), plan, 1024, never)[Symbol.asyncIterator]();
    const firstBand = (await first.next()).value as Uint8Array;
    let fellBack = false;
    const second = await collect(
      transposeBands(bytesData(b), { rows: 32, cols: 16, elementSize: 4 }, 1024, () => {
        fellBack = true;
        return bytesData(permuteBytes(b, [32, 16], 4, [1, 0])).chunks(1024);
      }),
    );
    expect(fellBack).toBe(true);
    expect(second).toEqualBytes(permuteBytes(b, [32, 16], 4, [1, 0]));
    expect(firstBand).toEqualBytes(permuteBytes(a, [64, 48], 4, [1, 0]).subarray(0, firstBand.byteLength));
    await first.return?.();
    expect(await collect(transposeBands(bytesData(b), { rows: 32, cols: 16, elementSize: 4 }, 1024, never))).toEqualBytes(second);
  });

  it("gives whole readers the same bytes as streaming writers", async () => {
    const bytes = randomBytes(40 * 24 * 4, 9);
    const expected = permuteBytes(bytes, [40, 24], 4, [1, 0]);
    const data = streamedInBands(bytesData(expected), bytesData(bytes), { rows: 40, cols: 24, elementSize: 4 });
    expect(await data.read()).toEqualBytes(expected);
    expect(await collect(data.streamChunks!(500), 500)).toEqualBytes(expected);
  });
});
