import { describe, expect, it } from "vitest";
import { blobSink } from "../../src/web/engine/sinks.js";

describe("the page's Blob sink (the download fallback)", () => {
  it("keeps every byte in order across small, piece-sized and large writes", async () => {
    let blob: Blob | undefined;
    const sink = blobSink("out.bin", (b) => (blob = b));
    const sizes = [0, 1, 100, 4 << 20, 3, (4 << 20) + 7, 12, 9 << 20, 5];

    let n = 0;
    for (const size of sizes) {
      const chunk = new Uint8Array(size);
      for (let i = 0; i < size; i++) chunk[i] = (n++ * 31) & 0xff;
      await sink.write(chunk);
      chunk.fill(0); // the writer may reuse its buffer once write() resolved
    }
    await sink.commit();
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(sink.position).toBe(total);
    const bytes = new Uint8Array(await blob!.arrayBuffer());
    expect(bytes.byteLength).toBe(total);
    for (let i = 0; i < total; i += 997) expect(bytes[i]).toBe((i * 31) & 0xff);
    expect(bytes[total - 1]).toBe(((total - 1) * 31) & 0xff);
  });

  it("refuses writes after commit and hands nothing over after abort", async () => {
    let handed = false;
    const sink = blobSink("x", () => (handed = true));
    await sink.write(new Uint8Array(3));
    await sink.abort();
    await sink.commit();
    expect(handed).toBe(false);
    const done = blobSink("y", () => {});
    await done.commit();
    await expect(done.write(new Uint8Array(1))).rejects.toThrow(/write after the output was closed/);
  });
});
