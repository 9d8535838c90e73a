import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { read } from "../../../src/api/open.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { crc32c, maskCrc32c } from "../../../src/util/crc32c.js";
import { utf8 } from "../../../src/util/bytes.js";
import { bundle, floats, shape } from "./bundle-builder.js";

/** DT_STRING bundle data for `values` (each shorter than 128 bytes): one-byte varint lengths, their checksum, the bytes. */
function stringEntry(values: string[]): { bytes: Uint8Array; crc: number } {
  const texts = values.map(utf8);
  const lengths = Uint8Array.from(texts, (t) => t.length);
  let lengthCrc = 0;
  for (const t of texts) lengthCrc = crc32c(Uint8Array.of(t.length, 0, 0, 0), lengthCrc);
  const crcBytes = new Uint8Array(4);
  new DataView(crcBytes.buffer).setUint32(0, maskCrc32c(lengthCrc), true);
  const body = Buffer.concat(texts);
  return { bytes: Buffer.concat([lengths, crcBytes, body]), crc: crc32c(body, crc32c(crcBytes, lengthCrc)) };
}

const LIBRARY = join(import.meta.dirname, "../../../dist/index.js");

describe("TF DT_STRING tensors", () => {
  it("3,000,000 one-byte strings: right values, and reading them stays within ~40x their file bytes", () => {
    const n = 3_000_000;
    const values = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26)));
    const { bytes, crc } = stringEntry(values);
    const path = bundle([
      { key: utf8("w"), entry: { dtype: 1, shape: shape(1) }, bytes: floats(1) },
      { key: utf8("vocab"), entry: { dtype: 7, shape: shape(n) }, bytes, crc },
    ]);
    // In a fresh process, to measure what reading holds (its maxRSS would count the forked parent's):
    // before, 140-180x the bytes (objects per element).
    const script = `
      const { read } = await import(${JSON.stringify(LIBRARY)});
      const before = process.memoryUsage().rss;
      const c = await read(${JSON.stringify(path)});
      const vocab = c.meta.tensorflow.strings.vocab;
      console.log(JSON.stringify({ count: vocab.length, first: vocab.slice(0, 3), last: vocab[vocab.length - 1], grew: process.memoryUsage().rss - before }));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 240_000,
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout) as { count: number; first: string[]; last: string; grew: number };
    expect(result.count).toBe(n);
    expect(result.first).toEqual(["a", "b", "c"]);
    expect(result.last).toBe(values[n - 1]);
    expect(result.grew).toBeLessThan(40 * bytes.byteLength);
  });

  it("a string tensor declaring more elements than it has bytes is refused before allocating", async () => {
    const { bytes, crc } = stringEntry(["x"]);
    const path = bundle([
      { key: utf8("w"), entry: { dtype: 1, shape: shape(1) }, bytes: floats(1) },
      { key: utf8("vocab"), entry: { dtype: 7, shape: shape(1 << 30, 1 << 20) }, bytes, crc },
    ]);
    await expect(read(path)).rejects.toThrow(WeightbridgeError);
    await expect(read(path)).rejects.toThrow(/string tensor of \d+ elements in 6 bytes/);
  });
});
