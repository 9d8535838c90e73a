import { describe, expect, it } from "vitest";
import { castBytes } from "../../src/kernels/cast.js";
import { castTensor } from "../../src/kernels/cast-tensor.js";
import { pooledComputedData } from "../../src/kernels/pooled-data.js";
import { withLookahead } from "../../src/kernels/lookahead.js";
import { giveScratch, takeScratch } from "../../src/util/scratch.js";
import { bytesData, makeTensor, sourceData, type Tensor } from "../../src/tensor/tensor.js";
import { memorySource } from "../../src/io/source.js";
import { randomBytes } from "../helpers/random.js";
import { borrowBytes } from "../../src/kernels/borrow.js";
import { exactPieces } from "../../src/kernels/stream.js";

// Kernel outputs written into recycled buffers: the same bytes as fresh outputs, and a buffer is
// recycled only once its consumer has moved past it.

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: number[] = [];
  for await (const c of chunks) parts.push(...c);
  return Uint8Array.from(parts);
}

describe("pooled computed data", () => {
  const doubling = (input: Uint8Array) =>
    pooledComputedData(input.byteLength, async (out) => {
      for (let i = 0; i < input.byteLength; i++) out[i] = (input[i]! * 2) & 0xff;
      return out;
    });

  it("hands a streamed output back after the last chunk, and never one that read() returned", async () => {
    const input = randomBytes(64 << 10, 3);
    const expected = input.map((b) => (b * 2) & 0xff);
    const kept = await doubling(input).read();
    let seen: ArrayBufferLike | undefined;
    const data = doubling(input);
    const streamed: number[] = [];
    for await (const chunk of data.streamChunks!(10_000)) {
      seen = chunk.buffer;
      streamed.push(...chunk);
    }
    expect(Uint8Array.from(streamed)).toEqual(expected);
    // The streamed output's buffer is back in the pool: the next take of that size gets it.
    const again = takeScratch(64 << 10);
    expect(again.buffer).toBe(seen);
    again.fill(0);
    giveScratch(again);
    // ... while bytes returned by read() are the caller's and stay as they were.
    expect(kept).toEqual(expected);
    expect(await collect(doubling(input).chunks(1000))).toEqual(expected);
  });

  it("a prefetch computes once and the next read or stream takes its result", async () => {
    let runs = 0;
    const data = pooledComputedData(4, async (out) => {
      runs++;
      out.set([1, 2, 3, 4]);
      return out;
    });
    data.prefetch!();
    data.prefetch!();
    expect(runs).toBe(1);
    expect(await collect(data.streamChunks!(3))).toEqual(Uint8Array.from([1, 2, 3, 4]));
    expect(runs).toBe(1);
    expect(Array.from(await data.read())).toEqual([1, 2, 3, 4]);
    expect(runs).toBe(2);
  });

  it("reports a failed prefetch to the reader, with a wrong length as corrupt", async () => {
    const failing = pooledComputedData(4, () => Promise.reject(new Error("boom")));
    failing.prefetch!();
    await expect(failing.read()).rejects.toThrow("boom");
    await expect(pooledComputedData(4, async () => new Uint8Array(3)).read()).rejects.toThrow(/3 bytes, expected 4/);
  });
});

describe("lookahead with prefetching data", () => {
  it("prefetches the next prefetching tensor past plain ones, and only one at a time", async () => {
    const started: string[] = [];
    const lazy = (name: string): Tensor =>
      makeTensor(
        name,
        "uint8",
        [2],
        pooledComputedData(2, async (out) => {
          started.push(name);
          out.set([name.charCodeAt(0), 0]);
          return out;
        }),
      );
    const plain = (name: string) => makeTensor(name, "uint8", [1], bytesData(Uint8Array.from([7])));
    const tensors = withLookahead([lazy("a"), plain("a.bias"), lazy("b"), plain("b.bias"), lazy("c"), plain("c.bias")], false);
    // A pickler reads the small tensors first: that starts b, and nothing more while b is pending.
    for (const i of [1, 3, 5]) await tensors[i]!.data.read();
    expect(started).toEqual(["b"]);
    // Then the big ones are streamed in order: each stream starts the next.
    await collect(tensors[0]!.data.streamChunks!(8));
    expect(started).toEqual(["b", "a"]);
    expect(await collect(tensors[2]!.data.streamChunks!(8))).toEqual(Uint8Array.from([98, 0]));
    expect(started).toEqual(["b", "a", "c"]);
    expect(await collect(tensors[4]!.data.streamChunks!(8))).toEqual(Uint8Array.from([99, 0]));
    expect(started).toEqual(["b", "a", "c"]);
  });

  it("never prefetches a tensor the writer has already asked for", async () => {
    const started: string[] = [];
    const lazy = (name: string): Tensor =>
      makeTensor(
        name,
        "uint8",
        [1],
        pooledComputedData(1, async (out) => {
          started.push(name);
          out[0] = 1;
          return out;
        }),
      );
    const tensors = withLookahead([lazy("a"), lazy("b"), lazy("c")], false);
    await tensors[1]!.data.read(); // b read early (and c prefetched)
    expect(started).toEqual(["b", "c"]);
    await collect(tensors[0]!.data.streamChunks!(8)); // a: b is done and c pending, nothing new
    await collect(tensors[2]!.data.streamChunks!(8));
    expect(started).toEqual(["b", "c", "a"]);
  });
});

describe("casts streamed through recycled buffers", () => {
  it("give the same bytes as a whole-tensor cast, streamed or kept chunk by chunk", async () => {
    const values = new Float32Array(Array.from({ length: 50_000 }, (_, i) => Math.sin(i) * 1e3));
    const source = memorySource(new Uint8Array(values.buffer));
    const tensor = makeTensor("w", "float32", [values.length], sourceData(source, 0, values.byteLength));
    const expected = castBytes(new Uint8Array(values.buffer), "float32", "bfloat16");
    const cast = castTensor(tensor, "bfloat16");
    expect(await collect(cast.data.streamChunks!(4096))).toEqualBytes(expected);
    // chunks() hands out memory the caller may keep: all of it still right at the end.
    const kept: Uint8Array[] = [];
    for await (const chunk of cast.data.chunks(4096)) kept.push(chunk);
    expect(Uint8Array.from(kept.flatMap((c) => [...c]))).toEqualBytes(expected);
    expect(await cast.data.read()).toEqualBytes(expected);
  });
});

describe("whole tensors borrowed in recycled memory", () => {
  it("reads file ranges and pooled outputs into buffers that go back to the pool after use", async () => {
    const bytes = randomBytes(96 << 10, 11);
    const range = sourceData(memorySource(bytes), 0, bytes.byteLength);
    let lent: ArrayBufferLike | undefined;
    expect(await borrowBytes(range, (b) => ((lent = b.buffer), Array.from(b.subarray(0, 4))))).toEqual(Array.from(bytes.subarray(0, 4)));
    const next = takeScratch(bytes.byteLength);
    expect(next.buffer).toBe(lent);
    giveScratch(next);
    const doubled = pooledComputedData(bytes.byteLength, async (out) => {
      for (let i = 0; i < bytes.byteLength; i++) out[i] = (bytes[i]! * 2) & 0xff;
      return out;
    });
    const copy = await borrowBytes(doubled, (b) => b.slice());
    expect(copy).toEqual(bytes.map((b) => (b * 2) & 0xff));
    // Data that cannot lend memory is read as usual.
    expect(await borrowBytes(bytesData(Uint8Array.from([1, 2])), (b) => Array.from(b))).toEqual([1, 2]);
  });

  it("regroups a stream into exact pieces in one reused buffer, with the same bytes", async () => {
    const bytes = randomBytes(10_000, 5);
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += 777) yield bytes.subarray(at, Math.min(at + 777, bytes.length));
    }
    const seen = new Set<ArrayBufferLike>();
    const parts: number[] = [];
    for await (const piece of exactPieces(chunks(), 3000, true)) {
      seen.add(piece.buffer);
      parts.push(...piece);
    }
    expect(Uint8Array.from(parts)).toEqual(bytes);
    expect(seen.size).toBe(1);
    const kept: Uint8Array[] = [];
    for await (const piece of exactPieces(chunks(), 3000)) kept.push(piece);
    expect(kept.map((p) => p.byteLength)).toEqual([3000, 3000, 3000, 1000]);
    expect(Uint8Array.from(kept.flatMap((p) => [...p]))).toEqual(bytes);
  });
});
