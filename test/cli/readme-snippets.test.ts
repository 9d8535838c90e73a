import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";

const ROOT = join(import.meta.dirname, "../..");

/** The README's `js` code blocks that mention `needle`, with the package name pointing at dist/. */
function snippet(needle: string): string {
  const blocks = [...readFileSync(join(ROOT, "README.md"), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes(needle));
  if (!block) throw new Error(`README has no js block with ${needle}`);
  return block.replace(/from "weightbridge"/g, `from ${JSON.stringify(join(ROOT, "dist/index.js"))}`);
}

describe("README library snippets", () => {
  it("the write() example writes a file inspect reads back", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-readme-"));
    writeFileSync(join(dir, "write.mjs"), snippet("makeTensor"));
    const r = spawnSync(process.execPath, ["write.mjs"], { cwd: dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(runCli(["inspect", join(dir, "tiny.safetensors"), "--json"]).stdout) as { tensors: unknown[] };
    expect(json.tensors).toEqual([{ name: "fc.weight", dtype: "float32", shape: [2, 2] }]);
  });

  it("every flag a command's --help lists is in the README", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const command of ["inspect", "convert", "verify", "diff", "scan", "formats", "serve"]) {
      const help = runCli([command, "--help"]).stdout;
      const flags = [...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!);
      expect(flags.length).toBeGreaterThan(0);
      for (const flag of flags) {
        const documented = readme.includes(flag) || (flag === "--progress" && readme.includes("--no-progress"));
        expect(documented, `${command} ${flag} is not in README.md`).toBe(true);
      }
    }
  });
});
