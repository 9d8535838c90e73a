import { describe, expect, it, beforeAll } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture } from "../helpers/fixtures.js";

// A project that installs the packed tarball, as a user would: ESM import, CommonJS require,
// TypeScript type-checks of both, the installed binary's own --version, and its page (serve).
const ROOT = join(import.meta.dirname, "../..");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const FIXTURE = fixture("pytorch", "state_dict.pt");

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 240_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

describe("the packed package in a consumer project", () => {
  let project = "";
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "consumer-"));
    // dist/ is already built by the test run; packing must not rebuild it under the other tests.
    const pack = run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir, "--silent"], ROOT);
    expect(pack.code, pack.out).toBe(0);
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    project = join(dir, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "9.9.9", private: true }));
    const install = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", join(dir, tarball)], project);
    expect(install.code, install.out).toBe(0);
    copyFileSync(FIXTURE, join(project, "model.pt"));
  }, 300_000);

  it("imports as ESM", () => {
    writeFileSync(join(project, "esm.mjs"), `import { inspect } from "weightbridge";\nconst i = await inspect("model.pt");\nconsole.log(i.format, i.tensors.length);\n`);
    const r = run(process.execPath, ["esm.mjs"], project);
    expect(r.out).toBe("pytorch 10\n");
  });

  it("requires from CommonJS", () => {
    writeFileSync(join(project, "cjs.cjs"), `const { inspect } = require("weightbridge");\ninspect("model.pt").then((i) => console.log(i.format, i.tensors.length));\n`);
    const r = run(process.execPath, ["cjs.cjs"], project);
    expect(r.out).toBe("pytorch 10\n");
  });

  it("type-checks from TypeScript, ESM and CommonJS", () => {
    writeFileSync(join(project, "a.mts"), `import { read, type Tensor } from "weightbridge";\nconst c = await read("model.pt");\nconst t: Tensor = c.tensors[0]!;\nconsole.log(t.name);\n`);
    writeFileSync(join(project, "b.cts"), `import { inspect } from "weightbridge";\nvoid inspect("model.pt").then((i) => i.format.length);\n`);
    writeFileSync(join(project, "bad.mts"), `import { inspect } from "weightbridge";\nconst n: number = (await inspect("model.pt")).format;\n`);
    const flags = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck"];
    const good = run(process.execPath, [TSC, ...flags, "a.mts", "b.cts"], project);
    expect(good.out).toBe("");
    expect(good.code).toBe(0);
    // The types are real: a wrong use is refused.
    const bad = run(process.execPath, [TSC, ...flags, "bad.mts"], project);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain("not assignable to type 'number'");
  });

  it("runs its own binary with its own version", () => {
    const r = run("npx", ["--no-install", "weightbridge", "--version"], project);
    expect(r.code, r.out).toBe(0);
    const own = JSON.parse(spawnSync("npm", ["pkg", "get", "version"], { cwd: ROOT, encoding: "utf8" }).stdout) as string;
    expect(r.stdout.trim()).toBe(own);
    expect(r.stdout.trim()).not.toBe("9.9.9");
  });

  it("serves the page from the installed package", async () => {
    const server = spawn(join(project, "node_modules", ".bin", "weightbridge"), ["serve", "--port", "0"], { cwd: project, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        server.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
          if (found) resolve(found[0]);
        });
        server.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('id="pick-files"');
      expect((await fetch(`${url}app.js`)).status).toBe(200);
    } finally {
      server.kill("SIGINT");
    }
  });
});
