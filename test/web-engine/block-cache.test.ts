import { describe, expect, it } from "vitest";
import { memorySource } from "../../src/io/source.js";
import { withBlockCache } from "../../src/web/engine/block-cache.js";
import { seededRandom } from "../../src/verify/random.js";

describe("the page's block cache over a source", () => {
  it("returns the same bytes as the source for small, large and block-straddling reads", async () => {
    const size = (3 << 20) + 12345;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
    let reads = 0;
    const plain = memorySource(bytes, "m");
    const counted = { ...plain, read: (o: number, l: number) => (reads++, plain.read(o, l)) };
    const cached = withBlockCache(counted);
    const random = seededRandom(7);
    const ranges: Array<[number, number]> = [
      [0, 0],
      [0, 1],
      [(1 << 20) - 3, 7],
      [size - 5, 5],
      [(2 << 20) - 100, 70_000],
      [10, 200_000],
    ];
    for (let i = 0; i < 200; i++) {
      const length = Math.floor(random() * 60_000);
      ranges.push([Math.floor(random() * (size - length)), length]);
    }
    for (const [offset, length] of ranges) expect(await cached.read(offset, length)).toEqualBytes(bytes.subarray(offset, offset + length));
    // 200 small reads over 4 blocks: far fewer source reads than reads asked for.
    expect(reads).toBeLessThan(120);
  });

  it("passes range errors through from the source", async () => {
    const cached = withBlockCache(memorySource(new Uint8Array(10), "m.bin"));
    await expect(cached.read(8, 4)).rejects.toThrow(/needs 4 bytes at offset 8/);
  });
});
