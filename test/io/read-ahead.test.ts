import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAhead } from "../../src/io/read-ahead.js";
import { atomicFileSink } from "../../src/io/sink.js";
import { fileSource, memorySource } from "../../src/io/source.js";

const bytes = new Uint8Array(1_000_003).map((_, i) => (i * 7 + (i >> 9)) & 0xff);

describe("readAhead", () => {
  it("streams exactly the range, in order, for odd sizes and chunk sizes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-ra-"));
    try {
      writeFileSync(join(dir, "f"), bytes);
      const file = await fileSource(join(dir, "f"));
      for (const source of [file, memorySource(bytes)]) {
        for (const [offset, length, chunk] of [
          [0, bytes.length, 65536],
          [13, 999_001, 4097],
          [5, 1, 8],
          [7, 0, 16],
          [100, 300, 1000],
        ] as const) {
          const parts: Uint8Array[] = [];
          for await (const c of readAhead(source, offset, length, chunk)) {
            expect(c.byteLength).toBeLessThanOrEqual(chunk);
            parts.push(c.slice()); // chunks are recycled: copy before asking for the next
          }
          expect(Buffer.concat(parts).equals(Buffer.from(bytes.subarray(offset, offset + length)))).toBe(true);
        }
      }
      await file.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a file in cache-sized pieces and lets the event loop run during a long range", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-ra-"));
    try {
      const big = new Uint8Array(40 << 20).map((_, i) => i & 0xff);
      writeFileSync(join(dir, "big"), big);
      const file = await fileSource(join(dir, "big"));
      let turns = 0;
      const timer = setInterval(() => turns++, 0);
      let total = 0;
      let largest = 0;
      for await (const c of readAhead(file, 0, big.length, 16 << 20)) {
        largest = Math.max(largest, c.byteLength);
        expect(c[0]).toBe(total & 0xff);
        total += c.byteLength;
      }
      clearInterval(timer);
      await file.close();
      expect(total).toBe(big.length);
      expect(largest).toBeLessThanOrEqual(256 << 10);
      expect(turns).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("releases its buffers when abandoned and reports read errors", async () => {
    const source = memorySource(bytes);
    for await (const c of readAhead(source, 0, bytes.length, 1000)) {
      expect(c[0]).toBe(bytes[0]);
      break;
    }
    await expect(async () => {
      for await (const _ of readAhead(source, bytes.length - 10, 20, 8)) void _;
    }).rejects.toThrow(/needs/);
  });
});

describe("atomicFileSink", () => {
  it("writes mixed small and large chunks in order and reuses no caller buffer after write resolves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-sink-"));
    try {
      const path = join(dir, "out.bin");
      const sink = await atomicFileSink(path);
      const expected: Buffer[] = [];
      const scratch = new Uint8Array(9 << 20);
      for (const n of [10, 5 << 20, 4 << 20, 1, 9 << 20, 3 << 20, 7, 8 << 20]) {
        const chunk = scratch.subarray(0, n);
        chunk.fill(n & 0xff);
        await sink.write(chunk);
        expected.push(Buffer.from(chunk));
        chunk.fill(0xee); // the caller may reuse its buffer as soon as write() resolves
      }
      expect(sink.position).toBe(expected.reduce((s, b) => s + b.length, 0));
      await sink.commit();
      expect(readFileSync(path).equals(Buffer.concat(expected))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets the event loop run (signals, progress) during a long run of writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-sink-"));
    try {
      const sink = await atomicFileSink(join(dir, "out.bin"));
      let turns = 0;
      const timer = setInterval(() => turns++, 0);
      const piece = new Uint8Array(100_000).fill(3);
      for (let i = 0; i < 400; i++) await sink.write(piece); // 40 MB
      clearInterval(timer);
      await sink.commit();
      expect(readFileSync(join(dir, "out.bin")).length).toBe(400 * 100_000);
      expect(turns).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
