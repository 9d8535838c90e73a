import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fileSource, type ByteSource } from "../../../src/io/source.js";
import { atomicFileSink } from "../../../src/io/sink.js";
import { readPdparams } from "../../../src/formats/paddle/pdparams-read.js";
import { writePdparams } from "../../../src/formats/paddle/pdparams-write.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";

const dir = mkdtempSync(join(tmpdir(), "wb-pdparams-lazy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A source that counts every byte read through any of its read paths. */
function counting(inner: ByteSource): ByteSource & { bytesRead: number } {
  const spy = {
    ...inner,
    name: inner.name,
    size: inner.size,
    bytesRead: 0,
    read: (offset: number, length: number) => ((spy.bytesRead += length), inner.read(offset, length)),
    readSync: (offset: number, length: number) => ((spy.bytesRead += length), inner.readSync!(offset, length)),
    readInto: (offset: number, target: Uint8Array) => ((spy.bytesRead += target.byteLength), inner.readInto!(offset, target)),
  };
  return spy;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("protocol-4 .pdparams with a 64 MiB+ payload", () => {
  it("is read without reading the payload; the tensor streams the right bytes from the file", async () => {
    const big = new Uint8Array(4096 * 4100 * 4); // 64.06 MiB of float32
    for (let i = 0; i < big.length; i += 4093) big[i] = (i / 4093) & 0xff;
    const small = Uint8Array.from({ length: 24 }, (_, i) => i);
    const checkpoint: Checkpoint = {
      format: "safetensors",
      tensors: [makeTensor("encoder.weight", "float32", [4096, 4100], bytesData(big)), makeTensor("encoder.bias", "float32", [6], bytesData(small))],
      meta: {},
    };
    const path = join(dir, "big.pdparams");
    const sink = await atomicFileSink(path);
    await writePdparams(checkpoint, sink, { formatOptions: { paddle: { pickleProtocol: 4 } } });
    await sink.commit();

    const source = counting(await fileSource(path));
    try {
      expect(source.size).toBeGreaterThan(64 << 20);
      const read = await readPdparams(source);
      expect(source.bytesRead).toBeLessThan(1 << 20);
      expect(read.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
        ["encoder.weight", "float32", [4096, 4100]],
        ["encoder.bias", "float32", [6]],
      ]);
      const before = source.bytesRead;
      const hash = createHash("sha256");
      for await (const chunk of read.tensors[0]!.data.chunks(8 << 20)) hash.update(chunk);
      expect(hash.digest("hex")).toBe(sha(big));
      expect(source.bytesRead - before).toBe(big.length); // streamed once, straight from the file
      expect(sha(await read.tensors[1]!.data.read())).toBe(sha(small));
    } finally {
      await source.close();
    }
  });
});

describe("protocol-2 .pdparams: array bytes stored as latin-1 text", () => {
  it("are left in the file while unpickling and decoded piece by piece, even with a character split between pieces", async () => {
    // Every byte value, so the text has 1- and 2-byte characters everywhere.
    const bytes = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 37 + (i >> 8)) & 0xff);
    const checkpoint: Checkpoint = { format: "safetensors", tensors: [makeTensor("w", "uint8", [1024, 1024], bytesData(bytes))], meta: {} };
    const path = join(dir, "p2.pdparams");
    const sink = await atomicFileSink(path);
    await writePdparams(checkpoint, sink, { formatOptions: { paddle: { pickleProtocol: 2 } } });
    await sink.commit();
    const source = counting(await fileSource(path));
    const back = await readPdparams(source);
    expect(source.size).toBeGreaterThan(1.4e6);
    expect(source.bytesRead).toBeLessThan(600_000); // the ~1.5 MB of text was skipped (the pickle window is 256 KiB)
    const data = back.tensors[0]!.data;
    expect(sha(await data.read())).toBe(sha(bytes));
    // Whole streams in odd-sized pieces (characters split at many piece ends) ...
    for (const piece of [65_536, 65_537, 99_991]) {
      const parts: Uint8Array[] = [];
      for await (const c of data.chunks(piece)) parts.push(c.slice());
      expect(sha(Buffer.concat(parts))).toBe(sha(bytes));
    }
    // ... and tiny pieces, where nearly every piece splits a character: the first 60 KiB is
    // enough (the whole 1.5 MB of text in 3-byte reads is half a million file reads).
    for (const piece of [3, 7]) {
      const parts: Uint8Array[] = [];
      let length = 0;
      for await (const c of data.chunks(piece)) {
        parts.push(c.slice());
        if ((length += c.byteLength) >= 60_000) break;
      }
      expect(Buffer.concat(parts).equals(Buffer.from(bytes.subarray(0, length)))).toBe(true);
    }
    await source.close();
  });

  it("text that is not latin-1, or decodes to the wrong size, is a corrupt error naming the tensor", async () => {
    const { Latin1FromUtf8 } = await import("../../../src/pickle/strings.js");
    expect(new Latin1FromUtf8().push(Uint8Array.from([0x41, 0xe2, 0x82, 0xac]))).toBeUndefined(); // '€'
    expect(new Latin1FromUtf8().push(Uint8Array.from([0xc3, 0x41]))).toBeUndefined();
    const d = new Latin1FromUtf8();
    expect([...d.push(Uint8Array.from([0x41, 0xc3]))!]).toEqual([0x41]);
    expect(d.complete).toBe(false);
    expect([...d.push(Uint8Array.from([0xa9]))!]).toEqual([0xe9]);
    expect(d.complete).toBe(true);
  });
});
