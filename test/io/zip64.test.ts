import { describe, expect, it } from "vitest";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySink, type ByteSink } from "../../src/io/sink.js";
import type { ByteSource } from "../../src/io/source.js";
import { openZip, ZipWriter } from "../../src/io/zip.js";
import { pytorchFormat } from "../../src/formats/pytorch/format.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

// Offsets past 4 GiB without writing 4 GiB: the sink starts at BASE, as if 5 GiB of other data
// came first, and the source replays the recorded bytes with zeros before them.

const BASE = 5 * 2 ** 30;

class OffsetSink implements ByteSink {
  readonly inner = new MemorySink("/virtual/far.pt");
  readonly name = "/virtual/far.pt";
  get position(): number {
    return BASE + this.inner.position;
  }
  write(bytes: Uint8Array): Promise<void> {
    return this.inner.write(bytes);
  }
  commit = () => this.inner.commit();
  abort = () => this.inner.abort();
}

function offsetSource(bytes: Uint8Array): ByteSource {
  const size = BASE + bytes.byteLength;
  return {
    name: "<far>",
    size,
    async read(offset, length) {
      if (offset + length > size) throw new Error("read past the end");
      const out = new Uint8Array(length);
      const from = Math.max(offset, BASE);
      if (from < offset + length) out.set(bytes.subarray(from - BASE, offset + length - BASE), from - offset);
      return out;
    },
    async close() {},
  };
}

/** The recorded bytes at BASE in a sparse file (takes no disk space for the zeros). */
function sparseFile(bytes: Uint8Array): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "wb-zip64-"));
  const path = join(dir, "far.pt");
  const fd = openSync(path, "w");
  writeSync(fd, bytes, 0, bytes.byteLength, BASE);
  closeSync(fd);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const payload = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

describe("ZIP64 past 4 GiB", () => {
  it("writes ZIP64 offsets and end records that our reader follows", async () => {
    const sink = new OffsetSink();
    const zip = new ZipWriter(sink, { alignment: 64 });
    const entries = { "a/data/0": payload(1000, 1), "a/empty": new Uint8Array(0), "a/data/1": payload(4096, 2) };
    for (const [name, data] of Object.entries(entries)) await zip.add(name, data.length, [data]);
    await zip.finish();
    const bytes = sink.inner.bytes();
    const archive = await openZip(offsetSource(bytes));
    expect(archive.entries.map((e) => e.name)).toEqual(Object.keys(entries));
    for (const [name, data] of Object.entries(entries)) {
      const entry = archive.find(name)!;
      expect(entry.localHeaderOffset).toBeGreaterThanOrEqual(BASE);
      expect(entry.size).toBe(data.length);
      expect(Buffer.from(await archive.read(entry)).equals(Buffer.from(data))).toBe(true);
      if (data.length > 0) expect((await archive.dataOffset(entry)) % 64).toBe(0);
    }
    // The classic end record is saturated: only the ZIP64 records can locate the directory.
    const eocd = bytes.subarray(bytes.byteLength - 22);
    expect(new DataView(eocd.buffer, eocd.byteOffset).getUint32(16, true)).toBe(0xffffffff);
  });

  describe.skipIf(!hasPythonModules("torch"))("read by Python", () => {
    it("zipfile and torch's zip reader read a PyTorch checkpoint whose records start past 4 GiB", async () => {
      const sink = new OffsetSink();
      const weight = new Float32Array([1.5, -2, 3.25, 0, 7, 8]);
      const checkpoint = {
        format: "pytorch",
        tensors: [
          makeTensor("fc.weight", "float32", [2, 3], bytesData(new Uint8Array(weight.buffer))),
          makeTensor("fc.bias", "float32", [2], bytesData(new Uint8Array(new Float32Array([0.5, -0.5]).buffer))),
        ],
        meta: {},
      };
      await pytorchFormat.write!(checkpoint, sink, {});
      const file = sparseFile(sink.inner.bytes());
      try {
        const out = runPython(
          `
import sys, zipfile, torch
z = zipfile.ZipFile(sys.argv[1])
infos = z.infolist()
assert min(i.header_offset for i in infos) >= ${BASE}, [i.header_offset for i in infos]
for i in infos:
    z.read(i)  # checks each CRC
# torch.load sniffs the first bytes (zeros here), so use torch's own zip reader (miniz) directly.
r = torch._C.PyTorchFileReader(sys.argv[1])
w = torch.frombuffer(bytearray(r.get_record("data/0")), dtype=torch.float32)
print(sorted(r.get_all_records()), w.tolist())
`,
          [file.path],
        );
        expect(out.trim()).toBe("['byteorder', 'data.pkl', 'data/0', 'data/1', 'version'] [1.5, -2.0, 3.25, 0.0, 7.0, 8.0]");
      } finally {
        file.cleanup();
      }
    });
  });
});
