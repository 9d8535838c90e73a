/** Where scan looks for pickles beyond the formats' own (src/pickle/containers.ts). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { afterAll, describe, expect, test } from "vitest";
import { scan } from "../../src/index.js";
import { b } from "../fuzz/hostile-pickles.js";
import { fixture } from "../helpers/fixtures.js";

const work = mkdtempSync(join(tmpdir(), "wb-containers-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array) => {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
};

describe("scan looks inside", () => {
  test("gzip: the pickle inside is scanned", async () => {
    const r = await scan(file("a.pkl.gz", gzipSync(b("cposix\nsystem\n(Vid\ntR."))));
    expect(r.container).toBe("gzip");
    expect(r.dangerous.map((f) => f.callable)).toEqual(["posix.system"]);
  });

  test("gzip declaring more than 1 GiB is not inflated, and not clean", async () => {
    const bytes = gzipSync(b("N."));
    new DataView(bytes.buffer).setUint32(bytes.length - 4, 0xfffffff0, true);
    const r = await scan(file("bomb.pkl.gz", bytes));
    expect(r.unproven.map((f) => f.status)).toEqual(["unsupported"]);
  });

  test("a protocol-0 pickle with no PROTO, and a second pickle behind the first", async () => {
    const r = await scan(file("two.pkl", b("(lp0\nVa\na.", "cos\nsystem\n(Vid\ntR.")));
    expect(r.pickles).toEqual(["pickle", "pickle 2"]);
    expect(r.dangerous.map((f) => `${f.pickle}:${f.callable}`)).toEqual(["pickle 2:os.system"]);
  });

  test("a safetensors file is no bare pickle, even when its header length begins with an opcode byte", async () => {
    const header = JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }).padEnd(0x70, " ");
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    expect(bytes[0]).toBe("p".charCodeAt(0)); // PUT: the file used to be interpreted as a pickle and called unreadable
    const r = await scan(file("w.safetensors", bytes));
    expect(r.format).toBe("safetensors");
    expect(r.pickles).toEqual([]);
    expect(r.findings).toEqual([]);
  });

  test("xz or bzip2 data is named as unopened, never as holding no pickles", async () => {
    for (const magic of [
      [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
      [0x42, 0x5a, 0x68, 0x39],
    ]) {
      const r = await scan(file("c.joblib", b(magic, "rest")));
      expect(r.unproven.map((f) => f.status)).toEqual(["unsupported"]);
    }
  });
});

describe("joblib files (fixtures/pickle/joblib, written by joblib 1.6.0)", () => {
  const dir = fixture("pickle", "joblib");
  test("array bytes inline in the stream are stepped over, object arrays read as nested pickles: clean", async () => {
    for (const name of ["arrays.joblib", "protocol2.joblib"]) {
      const r = await scan(join(dir, name));
      expect(r.dangerous, name).toEqual([]);
      expect(r.findings.some((f) => f.callable === "joblib.numpy_pickle.NumpyArrayWrapper" && f.status === "known")).toBe(true);
    }
  });

  test("a joblib file with an os.system reduction is flagged", async () => {
    const r = await scan(join(dir, "os_system.joblib"));
    expect(r.dangerous.map((f) => f.callable)).toContain("posix.system");
  });
});
