import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// `npm run lint` as part of the suite: Biome's recommended rules (biome.json says which are off
// and why they clash with this code's idioms) must report no error (warnings are shown, not failed),
// and the formatter must have nothing to change.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

describe("lint", () => {
  it("biome lint reports no error", () => {
    const run = spawnSync(join(ROOT, "node_modules", ".bin", "biome"), ["lint", "--diagnostic-level=error", "--max-diagnostics=50", "--colors=off"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.error).toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  });

  it("every file is as `npm run format` writes it", () => {
    const run = spawnSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--max-diagnostics=20", "--colors=off"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.error).toBeUndefined();
    expect(run.status, `run \`npm run format\`:\n${run.stdout}\n${run.stderr}`).toBe(0);
  });
});
