import { describe, expect, it } from "vitest";
import { withLookahead } from "../../src/kernels/lookahead.js";
import { bytesData, computedData, makeTensor, type Tensor } from "../../src/tensor/tensor.js";

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const c of chunks) out.push(...c);
  return out;
}

describe("withLookahead", () => {
  it("computes the next computed tensor once, ahead, and hands the same bytes over", async () => {
    const computed: string[] = [];
    const lazy = (name: string, bytes: number[]): Tensor =>
      makeTensor(
        name,
        "uint8",
        [bytes.length],
        computedData(bytes.length, async () => {
          computed.push(name);
          return Uint8Array.from(bytes);
        }),
      );
    const plain = makeTensor("plain", "uint8", [2], bytesData(Uint8Array.from([9, 9])));
    const tensors = withLookahead([lazy("a", [1, 2, 3]), lazy("b", [4, 5]), plain, lazy("c", [6])]);
    expect(Array.from(await tensors[0]!.data.read())).toEqual([1, 2, 3]);
    expect(computed).toEqual(["a", "b"]); // b started while a is being written
    expect(await collect(tensors[1]!.data.chunks(1))).toEqual([4, 5]);
    expect(computed).toEqual(["a", "b"]); // not computed twice
    expect(Array.from(await tensors[2]!.data.read())).toEqual([9, 9]);
    expect(await collect(tensors[3]!.data.chunks(8))).toEqual([6]);
    expect(computed).toEqual(["a", "b", "c"]);
    // Out of order: reading c again computes it afresh.
    expect(Array.from(await tensors[3]!.data.read())).toEqual([6]);
  });

  it("tensors sharing one data object (tied weights) still share it", () => {
    const data = bytesData(new Uint8Array(4));
    const [a, b] = withLookahead([makeTensor("a", "float32", [1], data), makeTensor("b", "float32", [1], data)]);
    expect(a!.data).toBe(b!.data);
  });

  it("a failure computed ahead is reported to the reader that asks for it", async () => {
    const failing = makeTensor(
      "bad",
      "uint8",
      [1],
      computedData(1, () => Promise.reject(new Error("boom"))),
    );
    const ok = makeTensor("ok", "uint8", [1], bytesData(new Uint8Array(1)));
    const [first, second] = withLookahead([ok, failing]);
    await first!.data.read();
    await expect(second!.data.read()).rejects.toThrow("boom");
  });
});
