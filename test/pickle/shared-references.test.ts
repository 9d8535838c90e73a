import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { read } from "../../src/index.js";
import { WeightbridgeError } from "../../src/errors.js";
import { CLI, runCli } from "../helpers/cli.js";
import { sharedStringPickle, torchZip } from "../fuzz/hostile-pickles.js";

const work = mkdtempSync(join(tmpdir(), "wb-shared-refs-"));
const MIB = 2 ** 20;
const LIBRARY = join(import.meta.dirname, "../../dist/index.js");

async function readError(path: string): Promise<WeightbridgeError> {
  try {
    const checkpoint = await read(path);
    await checkpoint.close();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightbridgeError);
    return e as WeightbridgeError;
  }
  throw new Error(`${path} was read`);
}

/** Reads `path` in a fresh process: the error line and that process's peak resident memory. */
function readInChild(path: string): { error: string; maxRssBytes: number } {
  const script = `
    const { read } = await import(${JSON.stringify(LIBRARY)});
    let error = "";
    try { const c = await read(${JSON.stringify(path)}); await c.close(); } catch (e) { error = e.message; }
    console.log(JSON.stringify({ error, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 240_000 });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as { error: string; maxRssBytes: number };
}

describe("a pickle cannot expand through shared references (one 1 MiB string, 10,000 references)", () => {
  const shapes = ["list", "dict", "nested", "keys"] as const;
  test.each(shapes)("%s: .pdparams and torch zip end in a clear corrupt error", async (shape) => {
    const pickle = sharedStringPickle(10_000, MIB, shape);
    expect(pickle.byteLength).toBeLessThan(MIB + 200_000);
    const pdparams = join(work, `${shape}.pdparams`);
    writeFileSync(pdparams, pickle);
    const pt = join(work, `${shape}.pt`);
    writeFileSync(pt, await torchZip(pickle));
    for (const path of [pdparams, pt]) {
      const error = await readError(path);
      expect(error.code).toBe("corrupt");
      expect(error.message).toMatch(/strings expand through shared references into more than \d+ MiB/);
    }
  });

  test.skipIf(!CLI)("inspect --json and convert refuse with one line; peak memory stays far below 1 GiB", () => {
    const path = join(work, "bomb.pdparams");
    writeFileSync(path, sharedStringPickle(10_000, MIB));
    for (const args of [
      ["inspect", "--json", path],
      ["convert", path, join(work, "out.safetensors")],
    ]) {
      const result = runCli(args, { timeout: 240_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^weightbridge: error: .*strings expand through shared references/);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
    const child = readInChild(path);
    expect(child.error).toMatch(/strings expand through shared references/);
    expect(child.maxRssBytes).toBeLessThan(1024 * MIB);
  });

  test("honest sharing still reads: a short string repeated 200,000 times, a 16 MiB string 4 times", async () => {
    const repeated = join(work, "repeated.pdparams");
    writeFileSync(repeated, sharedStringPickle(200_000, 3));
    const a = await read(repeated);
    expect((a.meta.weight as string[]).length).toBe(200_000);
    await a.close();
    const distinct = join(work, "distinct.pdparams");
    writeFileSync(distinct, sharedStringPickle(4, 16 * MIB));
    const b = await read(distinct);
    expect((b.meta.weight as string[])[3]!.length).toBe(16 * MIB);
    await b.close();
  });
});
