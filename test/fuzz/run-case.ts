import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { read, convert } from "../../src/index.js";
import { WeightbridgeError } from "../../src/errors.js";

export interface CaseOutcome {
  /** "ok", or the WeightbridgeError code that ended the run. */
  result: string;
  /** Set when the run broke a rule: a non-weightbridge exception, a leftover output ... */
  violation?: string;
  /** How long the case took: reported by FUZZ_VERBOSE runs, never asserted. */
  ms: number;
}

function describeThrown(e: unknown): string {
  if (e instanceof Error) {
    const frames = (e.stack ?? "")
      .split("\n")
      .filter((l) => l.startsWith("    at "))
      .filter((l) => !l.includes("wasm://"))
      .slice(0, 6);
    return `${e.constructor.name}: ${e.message.split("\n")[0]}\n${frames.join("\n")}`;
  }
  return `non-error thrown: ${String(e)}`;
}

/** Leftovers after a failed conversion: OUT itself or its `.OUT.wb-tmp-*` temporary. */
function leftovers(outDir: string): string[] {
  return existsSync(outDir) ? readdirSync(outDir) : [];
}

/**
 * One fuzz case: read the file, stream every tensor's bytes, then convert it to safetensors.
 * Every step must end in a result or a WeightbridgeError, and a failed conversion must leave
 * nothing in the output folder.
 */
export async function runCase(path: string, outDir: string): Promise<CaseOutcome> {
  const started = performance.now();
  const done = (result: string, violation?: string): CaseOutcome => ({ result, violation, ms: performance.now() - started });
  let dataError: string | undefined;
  try {
    const checkpoint = await read(path);
    try {
      for (const tensor of checkpoint.tensors) {
        let total = 0;
        for await (const chunk of tensor.data.chunks(1 << 20)) total += chunk.byteLength;
        if (total !== tensor.data.byteLength) return done("ok", `tensor ${tensor.name} streamed ${total} bytes of ${tensor.data.byteLength}`);
      }
    } catch (e) {
      if (!(e instanceof WeightbridgeError)) return done("crash", `reading tensor data threw ${describeThrown(e)}`);
      dataError = e.code;
    } finally {
      await checkpoint.close();
    }
  } catch (e) {
    if (e instanceof WeightbridgeError) return done(e.code);
    return done("crash", `read() threw ${describeThrown(e)}`);
  }

  const out = join(outDir, "out.safetensors");
  try {
    await convert(path, out);
  } catch (e) {
    if (!(e instanceof WeightbridgeError)) return done("crash", `convert() threw ${describeThrown(e)}`);
    const left = leftovers(outDir);
    if (left.length > 0) return done(e.code, `convert failed (${e.code}) but left ${left.join(", ")}`);
    return done(e.code);
  }
  if (dataError) return done("ok", `tensor data failed (${dataError}) on read but the conversion succeeded`);
  rmSync(out, { force: true });
  const left = leftovers(outDir);
  if (left.length > 0) return done("ok", `conversion left ${left.join(", ")}`);
  return done("ok");
}
