import { describe, expect, it } from "vitest";
import { giveScratch, takeScratch } from "../../src/util/scratch.js";
import { sourceData } from "../../src/tensor/tensor.js";
import { memorySource } from "../../src/io/source.js";
import { transpose, type TransformContext } from "../../src/mapping/transforms.js";

const ctx: TransformContext = { tensor: "t", attributes: {}, heuristic() {} };

describe("scratch buffers", () => {
  it("hands a given-back buffer out again, never one that is still held", () => {
    const a = takeScratch(1024);
    const b = takeScratch(1024);
    expect(a.buffer).not.toBe(b.buffer);
    giveScratch(a);
    const c = takeScratch(512);
    expect(c.buffer).toBe(a.buffer);
    expect(c.byteLength).toBe(512);
    const d = takeScratch(512);
    expect(d.buffer).not.toBe(c.buffer);
    expect(d.buffer).not.toBe(b.buffer);
    giveScratch(b);
    giveScratch(c);
    giveScratch(d);
  });

  it("does not keep a buffer that was transferred away (detached)", () => {
    const a = takeScratch(2048);
    const moved = structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
    expect(a.buffer.byteLength).toBe(0);
    giveScratch(a);
    expect(takeScratch(2048).byteLength).toBe(2048);
    expect(moved.byteLength).toBe(2048);
  });
});

describe("transposes of file ranges read through scratch buffers", () => {
  it("give each tensor its own correct bytes, one after another and at once", async () => {
    // Three float32 matrices side by side in one source, each [rows, cols].
    const shapes: Array<[number, number]> = [
      [3, 5],
      [4, 2],
      [3, 5],
    ];
    const parts = shapes.map(([r, c], k) => Float32Array.from({ length: r * c }, (_, i) => k * 1000 + i));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    const offsets = parts.map((p) => {
      all.set(new Uint8Array(p.buffer), at);
      at += p.byteLength;
      return at - p.byteLength;
    });
    const original = all.slice();
    const source = memorySource(all);
    const lazy = () => shapes.map(([r, c], k) => transpose({ dtype: "float32", shape: [r, c], data: sourceData(source, offsets[k]!, r * c * 4) }, [1, 0], ctx));
    const expected = shapes.map(([r, c], k) => Array.from({ length: r * c }, (_, i) => parts[k]![(i % r) * c + Math.floor(i / r)]));
    const asFloats = (b: Uint8Array) => Array.from(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));

    const kept: Uint8Array[] = [];
    for (const t of lazy()) kept.push(await t.data.read());
    expect(kept.map(asFloats)).toEqual(expected);
    const together = await Promise.all(lazy().map((t) => t.data.read()));
    expect(together.map(asFloats)).toEqual(expected);
    // Results read earlier are untouched by the later reads that reused the scratch memory.
    expect(kept.map(asFloats)).toEqual(expected);
    expect(all).toEqual(original); // the source itself is never written
  });
});
