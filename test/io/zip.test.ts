import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { MemorySink } from "../../src/io/sink.js";
import { memorySource } from "../../src/io/source.js";
import { openZip, ZipWriter } from "../../src/io/zip.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

async function makeZip(entries: Record<string, Uint8Array>, alignment = 64): Promise<Uint8Array> {
  const sink = new MemorySink();
  const zip = new ZipWriter(sink, { alignment });
  for (const [name, data] of Object.entries(entries)) await zip.add(name, data.length, [data]);
  await zip.finish();
  return sink.bytes();
}

const sample = {
  "archive/data.pkl": new TextEncoder().encode("pickle bytes"),
  "archive/data/0": new Uint8Array(1000).map((_, i) => i % 251),
  "archive/empty": new Uint8Array(0),
  "archive/version": new TextEncoder().encode("3\n"),
};

describe("zip writer and reader", () => {
  it("round-trips entries with 64-byte aligned payloads", async () => {
    const bytes = await makeZip(sample);
    const zip = await openZip(memorySource(bytes));
    expect(zip.entries.map((e) => e.name)).toEqual(Object.keys(sample));
    for (const [name, data] of Object.entries(sample)) {
      const entry = zip.find(name)!;
      expect(await zip.read(entry)).toEqual(data);
      if (data.length > 0) expect((await zip.dataOffset(entry)) % 64).toBe(0);
    }
  });

  it("an entry written as its bytes come (begin) is the same bytes as one added with its size known", async () => {
    const whole = await makeZip(sample);
    const sink = new MemorySink();
    const zip = new ZipWriter(sink, { alignment: 64 });
    for (const [name, data] of Object.entries(sample)) {
      if (data.length === 0) {
        await zip.add(name, 0, [data]);
        continue;
      }
      const entry = await zip.begin(name);
      for (let at = 0; at < data.length; at += 7) await entry.write(data.subarray(at, at + 7));
      await entry.close();
    }
    await zip.finish();
    expect(Buffer.from(sink.bytes()).equals(Buffer.from(whole))).toBe(true);
  });

  it("reads deflated entries written by another zip library", async () => {
    const bytes = zipSync({ "a/b.txt": new TextEncoder().encode("hello hello hello hello") }, { level: 9 });
    const zip = await openZip(memorySource(bytes));
    const entry = zip.find("a/b.txt")!;
    expect(entry.method).toBe(8);
    expect(new TextDecoder().decode(await zip.read(entry))).toBe("hello hello hello hello");
  });

  it("reports truncated archives clearly", async () => {
    const bytes = await makeZip(sample);
    await expect(openZip(memorySource(bytes.subarray(0, bytes.length - 30), "t.pt"))).rejects.toMatchObject({ code: "truncated" });
    await expect(openZip(memorySource(bytes.subarray(0, 200), "t.pt"))).rejects.toThrow(/end-of-central-directory/);
  });
});

describe.skipIf(!hasPythonModules("zipfile"))("zip interop", () => {
  it("Python's zipfile reads our archive and verifies every CRC", async () => {
    const d = mkdtempSync(join(tmpdir(), "wb-zip-"));
    const path = join(d, "x.zip");
    writeFileSync(path, await makeZip(sample));
    const out = runPython(
      `import zipfile, sys, hashlib
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
for i in z.infolist():
    print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest())`,
      [path],
    );
    const lines = out.trim().split("\n");
    expect(lines.map((l) => l.split(" ")[0])).toEqual(Object.keys(sample));
  });
});
