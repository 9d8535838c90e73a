import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * Interop tests run Debian's /usr/bin/python3 with the real frameworks. Locally they skip when
 * a package is missing; with WEIGHTBRIDGE_REQUIRE_INTEROP=1 (CI) a missing package fails instead.
 */
export const PYTHON = "/usr/bin/python3";
export const REQUIRE_INTEROP = process.env.WEIGHTBRIDGE_REQUIRE_INTEROP === "1";

const cache = new Map<string, boolean>();

export function hasPythonModules(...modules: string[]): boolean {
  const key = modules.join(",");
  if (!cache.has(key)) {
    const ok = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", modules.map((m) => `import ${m}`).join("; ")], { encoding: "utf8" }).status === 0;
    if (!ok && REQUIRE_INTEROP) {
      throw new Error(`WEIGHTBRIDGE_REQUIRE_INTEROP=1 but ${PYTHON} cannot import ${modules.join(", ")}`);
    }
    cache.set(key, ok);
  }
  return cache.get(key)!;
}

/** Runs a Python script (source text) with arguments; returns stdout, throws with stderr on failure. */
export function runPython(script: string, args: string[] = [], timeoutMs = 120_000): string {
  const result = spawnSync(PYTHON, ["-c", script, ...args], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 256 << 20 });
  if (result.status !== 0) {
    throw new Error(`python failed (${result.status}):\n${result.stderr}`);
  }
  return result.stdout;
}
