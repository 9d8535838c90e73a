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
      tensors: [
        makeTensor("encoder.weight", "float32", [4096, 4100], bytesData(big)),
        makeTensor("encoder.bias", "float32", [6], bytesData(small)),
      ],
      meta: {},
    };
    const path = join(dir, "big.pdparams");
    const sink = await atomicFileSink(path);
    await writePdparams(checkpoint, sink, { pickleProtocol: 4 });
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
