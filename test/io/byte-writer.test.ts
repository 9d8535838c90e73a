import { describe, expect, it } from "vitest";
import { ByteWriter } from "../../src/util/byte-writer.js";
import { randomBytes } from "../helpers/random.js";

describe("ByteWriter", () => {
  it("gives the same bytes whether its buffer grows, flushes or passes big payloads through", () => {
    const big = randomBytes(20_000, 1); // passed through as its own chunk
    const medium = randomBytes(3_000, 2);
    const w = new ByteWriter();
    const expected: number[] = [];
    const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    for (let i = 0; i < 40; i++) {
      w.u32(i * 7919)
        .bytes(medium)
        .u8(i);
      expected.push(...u32(i * 7919), ...medium, i);
      if (i % 10 === 9) {
        w.bytes(big);
        expected.push(...big);
      }
    }
    w.fill(0x5a, 70_000); // more than one whole buffer at once
    expected.push(...new Array(70_000).fill(0x5a));
    w.u16(0xbeef);
    expected.push(0xef, 0xbe);
    expect(w.length).toBe(expected.length);
    expect(w.result()).toEqual(Uint8Array.from(expected));
    expect(w.chunks().some((c) => c === big)).toBe(true);
  });

  it("a few header bytes stay a small buffer", () => {
    const w = new ByteWriter().u32(0x04034b50).u16(20);
    const out = w.result();
    expect(Array.from(out)).toEqual([0x50, 0x4b, 0x03, 0x04, 20, 0]);
    expect(out.buffer.byteLength).toBeLessThan(1024);
  });
});
