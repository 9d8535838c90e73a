import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CLI } from "../helpers/cli.js";
import { rng } from "./mutate.js";

const work = mkdtempSync(join(tmpdir(), "wb-atomic-"));
const big = join(work, "big.safetensors");
const TENSORS = 50;
const TENSOR_BYTES = 4 << 20; // 50 x 4 MiB = 200 MiB of float32

/** A ~200 MB safetensors file, written directly (no library involved in making the input). */
function writeBigSafetensors(path: string): void {
  const header: Record<string, unknown> = {};
  for (let i = 0; i < TENSORS; i++) {
    header[`layer${i}.weight`] = { dtype: "F32", shape: [TENSOR_BYTES / 4], data_offsets: [i * TENSOR_BYTES, (i + 1) * TENSOR_BYTES] };
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, "w");
  writeSync(fd, prefix);
  writeSync(fd, json);
  const chunk = new Float32Array(TENSOR_BYTES / 4).map((_, i) => Math.sin(i));
  for (let i = 0; i < TENSORS; i++) writeSync(fd, new Uint8Array(chunk.buffer));
  closeSync(fd);
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts a conversion (well under a second to a second) and sends `signal` after `afterMs`, or (with
 * "temp") as soon as its temporary output exists, i.e. surely mid-write.
 */
function convertAndKill(out: string, signal: NodeJS.Signals, afterMs: number | "temp", extra: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "convert", big, out, "--dtype", "float16", ...extra], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const timer = afterMs === "temp" ? setInterval(() => temporaries().length > 0 && child.kill(signal), 5) : setTimeout(() => child.kill(signal), afterMs);
    child.on("exit", (code, sig) => {
      clearInterval(timer);
      resolve({ code, signal: sig, stderr });
    });
  });
}

const temporaries = () => readdirSync(work).filter((n) => n.includes(".wb-tmp-"));
const EXPECTED_OUTPUT = 8 + TENSORS * (TENSOR_BYTES / 2);

/** A conversion that beat the signal must have produced the whole file. */
function expectComplete(out: string): void {
  const header = Number(readFileSync(out).subarray(0, 8).readBigUInt64LE());
  expect(statSync(out).size).toBe(EXPECTED_OUTPUT + header);
}

/**
 * After a SIGKILL, OUT is as it was (absent, or `original`) or, when the kill came after the
 * rename but before the exit, the whole conversion: never anything in between.
 */
function expectAsBeforeOrComplete(out: string, original?: string): void {
  if (!existsSync(out)) {
    expect(original).toBeUndefined();
    return;
  }
  // Compared as a flag: a failed toBe() on a 100 MB string makes vitest's diff run out of memory.
  const unchanged = original !== undefined && statSync(out).size === original.length && readFileSync(out, "utf8") === original;
  if (!unchanged) expectComplete(out);
}

describe.skipIf(!existsSync(CLI))("a conversion killed at any moment never leaves a partial OUT", () => {
  beforeAll(() => writeBigSafetensors(big), 60_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const r = rng(20240601);
  const moments = [0.05, 0.3, 0.6, 0.9].map((f) => Math.round(80 + f * 900 * (0.5 + r())));

  test.each(moments)("SIGKILL after %i ms: no file at OUT (a .OUT.wb-tmp-* may remain)", async (ms) => {
    const out = join(work, `fresh-${ms}.safetensors`);
    const run = await convertAndKill(out, "SIGKILL", ms);
    if (run.signal === "SIGKILL") expectAsBeforeOrComplete(out);
    else expectComplete(out);
    for (const t of temporaries()) rmSync(join(work, t));
  });

  test.each(moments)("SIGKILL after %i ms with --force: an existing OUT stays untouched", async (ms) => {
    const out = join(work, `existing-${ms}.safetensors`);
    writeFileSync(out, "ORIGINAL CONTENT");
    const run = await convertAndKill(out, "SIGKILL", ms, ["--force"]);
    if (run.signal === "SIGKILL") expectAsBeforeOrComplete(out, "ORIGINAL CONTENT");
    else expectComplete(out);
    for (const t of temporaries()) rmSync(join(work, t));
  });

  test.each(["SIGINT", "SIGTERM"] as const)("%s mid-write: the CLI removes its temporary and leaves OUT untouched", async (signal) => {
    const out = join(work, `signal-${signal}.safetensors`);
    writeFileSync(out, "ORIGINAL CONTENT");
    const run = await convertAndKill(out, signal, "temp", ["--force"]);
    {
      expect(run.code).toBe(128 + (signal === "SIGINT" ? 2 : 15));
      expect(statSync(out).size === 16 && readFileSync(out, "utf8") === "ORIGINAL CONTENT").toBe(true);
    }
    expect(temporaries()).toEqual([]);
  });
});
