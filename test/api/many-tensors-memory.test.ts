import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeManyTensors } from "../helpers/many-tensors.js";

// Mixture-of-experts checkpoints hold ~10^5 tensors, and 10^6 must convert in bounded memory: what
// a conversion keeps per tensor (names, metadata, report rows, lookahead, pickle memo, zip
// directory) is what grows. Measured in a child process with --expose-gc: the heap live halfway
// through the write (after a full collection), per tensor. Bytes are counted, never time.

// WB_MEMORY_LIBRARY / WB_MEMORY_JSON: another build to measure (a "before" figure).
const LIBRARY = join(import.meta.dirname, "../../dist/index.js");
const work = mkdtempSync(join(tmpdir(), "wb-many-memory-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Converts in a child process; returns the live heap (bytes) per tensor after a full collection:
 * at the tensors' midpoint, and the most of samples at the first 16 writes (the ~1 MiB pieces of
 * the pickle, written as it is made) and at every 20,000th write after; and the child's peak RSS (KiB).
 */
function liveBytesPerTensor(input: string, output: string, n: number): { perTensor: number; most: number; samples: number; maxRssKiB: number } {
  const script = `
    const { convert } = await import(${JSON.stringify(process.env.WB_MEMORY_LIBRARY ?? LIBRARY)});
    gc();
    const before = process.memoryUsage().heapUsed;
    const live = () => (gc(), process.memoryUsage().heapUsed - before);
    let middle;
    let most = 0;
    let samples = 0;
    let writes = 0;
    await convert(${JSON.stringify(input)}, ${JSON.stringify(output)}, {
      onProgress(written, total, done, count) {
        writes++;
        if (writes <= 16 || writes % 20000 === 0) {
          most = Math.max(most, live());
          samples++;
        }
        if (middle === undefined && done >= count / 2) middle = live();
      },
    });
    process.stdout.write(JSON.stringify({ perTensor: middle / ${n}, most: most / ${n}, samples, maxRssKiB: process.resourceUsage().maxRSS }));
  `;
  const child = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 600_000 });
  if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as { perTensor: number; most: number; samples: number; maxRssKiB: number };
}

describe.skipIf(!existsSync(LIBRARY))("what a conversion keeps per tensor", () => {
  // Before: a pickle tree per tensor, closures per lookahead wrapper, a central-directory record
  // object each, report rows with their own shape and transforms arrays (~1,730 bytes); then a
  // copy of each tensor and a lookahead wrapper for file-range data, the safetensors header's
  // shape arrays one per tensor (~485 bytes). The TF writer held ~8 objects per entry, protobufjs
  // messages and a UTF-8 key copy (~1,130 bytes at the midpoint, ~1,290 at most). Now ~285 / ~340.
  it.each([
    ["a .pt (data.pkl pickled as it is written, then the records)", "many.pt"],
    ["a TF checkpoint (data shard, then the index)", "many.index"],
  ])(
    "safetensors → %s of 100,000 tiny tensors keeps under 512 B of heap per tensor while writing",
    (_label, outputName) => {
      const n = 100_000;
      const input = join(work, "many.safetensors");
      if (!existsSync(input)) writeManyTensors(input, n);
      const { perTensor, most, samples, maxRssKiB } = liveBytesPerTensor(input, join(work, outputName), n);
      const figures = `midpoint ${Math.round(perTensor)} B, most ${Math.round(most)} B per tensor over ${samples} samples, peak RSS ${Math.round(maxRssKiB / 1024)} MiB`;
      expect(perTensor, figures).toBeLessThan(512);
      expect(perTensor).toBeGreaterThan(0);
      // The same bound at every sample, the pickling included (data.pkl is written as it is made).
      expect(most, figures).toBeLessThan(512);
      expect(samples).toBeGreaterThan(16);
    },
    600_000,
  );

  it("a 300,000-entry safetensors header text is not kept once its members are read (optimized code held it: 77 MB at 10^6)", () => {
    const json = process.env.WB_MEMORY_JSON ?? join(import.meta.dirname, "../../dist/util/json.js");
    const script = `
      const { jsonObjectMembers } = await import(${JSON.stringify(json)});
      let text = (() => {
        const header = {};
        for (let i = 0; i < 300000; i++) header["experts." + (i >> 6) + ".w" + (i & 63)] = { dtype: "F32", shape: [2], data_offsets: [8 * i, 8 * i + 8] };
        return JSON.stringify(header);
      })();
      const textBytes = text.length;
      gc();
      const withText = process.memoryUsage().heapUsed;
      let members = 0;
      for (const member of jsonObjectMembers(text)) members++;
      text = undefined;
      gc();
      process.stdout.write(JSON.stringify({ members, textBytes, freed: withText - process.memoryUsage().heapUsed }));
    `;
    const child = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 600_000 });
    if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
    const { members, textBytes, freed } = JSON.parse(child.stdout) as { members: number; textBytes: number; freed: number };
    expect(members).toBe(300_000);
    // The text (~23 MB) is gone, give or take a few MB of other garbage and heap bookkeeping.
    expect(freed).toBeGreaterThan(textBytes - (4 << 20));
  }, 600_000);
});
