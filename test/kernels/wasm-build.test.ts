import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { REQUIRE_INTEROP } from "../helpers/python.js";

// The WebAssembly kernels are committed as bytes; this keeps them in step with the script that
// makes them. It needs wabt's wat2wasm (Debian: wabt): skipped without it, except in CI.

const script = fileURLToPath(new URL("../../scripts/build-wasm-kernels.mjs", import.meta.url));
const hasWat2wasm = spawnSync("wat2wasm", ["--version"], { encoding: "utf8" }).status === 0;
if (!hasWat2wasm && REQUIRE_INTEROP) throw new Error("WEIGHTBRIDGE_REQUIRE_INTEROP=1 but wat2wasm (wabt) is not installed");

describe.skipIf(!hasWat2wasm)("the committed WebAssembly layout kernels", () => {
  it("are what scripts/build-wasm-kernels.mjs assembles from its WebAssembly text", () => {
    const run = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
    expect(run.stdout + run.stderr).toMatch(/is up to date/);
    expect(run.status).toBe(0);
  });
});
