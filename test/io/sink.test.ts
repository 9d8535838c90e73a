import { describe, expect, it, vi } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { atomicFileSink, MemorySink } from "../../src/io/sink.js";
import { fileSource, memorySource, resolveInside } from "../../src/io/source.js";
import { WeightbridgeError } from "../../src/errors.js";

const dir = () => mkdtempSync(join(tmpdir(), "wb-sink-"));

describe("atomicFileSink", () => {
  it("writes to a temporary name and renames on commit", async () => {
    const d = dir();
    const out = join(d, "out.bin");
    const sink = await atomicFileSink(out);
    await sink.write(new Uint8Array([1, 2, 3]));
    expect(readdirSync(d)).toHaveLength(1);
    expect(readdirSync(d)[0]).not.toBe("out.bin");
    await sink.commit();
    expect(readdirSync(d)).toEqual(["out.bin"]);
    expect([...readFileSync(out)]).toEqual([1, 2, 3]);
  });

  it("leaves nothing behind on abort", async () => {
    const d = dir();
    const sink = await atomicFileSink(join(d, "out.bin"));
    await sink.write(new Uint8Array(100));
    await sink.abort();
    expect(readdirSync(d)).toEqual([]);
  });

  it("refuses an existing file without force and replaces it with force", async () => {
    const d = dir();
    const out = join(d, "out.bin");
    writeFileSync(out, "old");
    await expect(atomicFileSink(out)).rejects.toMatchObject({ code: "exists" });
    const sink = await atomicFileSink(out, { force: true });
    await sink.write(new Uint8Array([9]));
    expect(readFileSync(out, "utf8")).toBe("old");
    await sink.commit();
    expect([...readFileSync(out)]).toEqual([9]);
  });

  it("does not clobber a file that appears while writing", async () => {
    const d = dir();
    const out = join(d, "out.bin");
    const sink = await atomicFileSink(out);
    await sink.write(new Uint8Array([1]));
    writeFileSync(out, "someone else");
    await expect(sink.commit()).rejects.toMatchObject({ code: "exists" });
    expect(readFileSync(out, "utf8")).toBe("someone else");
    expect(readdirSync(d)).toEqual(["out.bin"]);
  });

  it("waits for the positioned writes' background flush before closing the file", async () => {
    const d = dir();
    const out = join(d, "out.bin");
    const sink = await atomicFileSink(out);
    const file = sink.positioned!()!;
    const settle = vi.spyOn(file, "settle");
    const block = new Uint8Array(8 << 20).fill(5);
    for (let i = 0; i < 10; i++) file.write(block, i * block.byteLength); // 80 MiB: past one background flush
    await sink.commit();
    expect(settle).toHaveBeenCalledOnce();
    expect(readFileSync(out).length).toBe(80 << 20);
  });

  it("streams large writes past its buffer", async () => {
    const d = dir();
    const out = join(d, "big.bin");
    const sink = await atomicFileSink(out);
    const chunk = new Uint8Array(3 << 20).fill(7);
    for (let i = 0; i < 5; i++) await sink.write(chunk);
    await sink.commit();
    expect(readFileSync(out).length).toBe(15 << 20);
  });
});

describe("sources", () => {
  it("reads ranges from files with positioned reads and refuses ranges past the end", async () => {
    const d = dir();
    const path = join(d, "f.bin");
    writeFileSync(path, Buffer.from([0, 1, 2, 3, 4, 5]));
    const src = await fileSource(path);
    expect([...(await src.read(2, 3))]).toEqual([2, 3, 4]);
    await expect(src.read(4, 5)).rejects.toMatchObject({ code: "truncated", location: { file: path, offset: 4 } });
    await src.close();
  });

  it("names a missing file", async () => {
    await expect(fileSource("/nonexistent/x.pt")).rejects.toThrow(WeightbridgeError);
  });

  it("memory sources and sinks round-trip", async () => {
    const sink = new MemorySink();
    await sink.write(new Uint8Array([1, 2]));
    await sink.write(new Uint8Array([3]));
    const src = memorySource(sink.bytes());
    expect([...(await src.read(0, 3))]).toEqual([1, 2, 3]);
  });

  it("keeps side-file paths inside their folder", () => {
    expect(resolveInside("/models", "weights.bin", "m.onnx")).toBe("/models/weights.bin");
    expect(resolveInside("/models", "sub/w.bin", "m.onnx")).toBe("/models/sub/w.bin");
    expect(() => resolveInside("/models", "../etc/passwd", "m.onnx")).toThrow(/refusing path/);
    expect(() => resolveInside("/models", "/etc/passwd", "m.onnx")).toThrow(/refusing path/);
    expect(() => resolveInside("/models", "a/../../x", "m.onnx")).toThrow(/refusing path/);
    expect(() => resolveInside("/models", "..\\x", "m.onnx")).toThrow(/refusing path/);
  });
});
