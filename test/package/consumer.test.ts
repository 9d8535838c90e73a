import { describe, expect, it, beforeAll } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fixture } from "../helpers/fixtures.js";

// A project that installs the packed tarball, as a user would: ESM import, CommonJS require,
// TypeScript type-checks of both, and the installed binary: the one-file bundle, which must find
// the package's own files (version, schemas/, the page, its kernel worker) as the library does.
const ROOT = join(import.meta.dirname, "../..");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const FIXTURE = fixture("pytorch", "state_dict.pt");
const PROGRAM = fixture("paddle", "real", "inference");

function run(cmd: string, args: string[], cwd: string, env?: Record<string, string>) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 240_000, env: env && { ...process.env, ...env } });
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
    // As a user installs it: scripts allowed. The package has none (it ships dist/), so npm has
    // nothing to run or to warn about (issue 29: "npm warn install-scripts ... (prepare: ...)").
    const install = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarball)], project);
    expect(install.code, install.out).toBe(0);
    expect(install.out).not.toMatch(/install-scripts|prepare|warn/i);
    copyFileSync(FIXTURE, join(project, "model.pt"));
    for (const ext of [".pdmodel", ".pdiparams"]) copyFileSync(PROGRAM + ext, join(project, `inference${ext}`));
  }, 300_000);

  it("builds in prepack only (npm pack builds once), and npm reads the checkout's config without warnings", () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    expect(scripts.prepare).toBeUndefined();
    expect(scripts.prepack).toBe("npm run build");
    expect(scripts.pretest).toMatch(/npm run build/);
    const npm = spawnSync("npm", ["pkg", "get", "name"], { cwd: ROOT, encoding: "utf8" });
    expect(npm.stdout.trim()).toBe('"weightbridge"');
    expect(npm.stderr).not.toMatch(/Unknown (project|user) config/);
    // onnxruntime-node's install script (CUDA providers from NuGet) stays off without an .npmrc key.
    expect((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { allowScripts: Record<string, boolean> }).allowScripts["onnxruntime-node"]).toBe(
      false,
    );
  });

  const installed = () => join(project, "node_modules", "weightbridge");
  const bin = () =>
    join(installed(), (JSON.parse(readFileSync(join(installed(), "package.json"), "utf8")) as { bin: { weightbridge: string } }).bin.weightbridge);
  const cli = (args: string[], env?: Record<string, string>) => run(process.execPath, [bin(), ...args], project, env);

  it("imports as ESM", () => {
    writeFileSync(
      join(project, "esm.mjs"),
      `import { inspect } from "weightbridge";\nconst i = await inspect("model.pt");\nconsole.log(i.format, i.tensors.length);\n`,
    );
    const r = run(process.execPath, ["esm.mjs"], project);
    expect(r.out).toBe("pytorch 10\n");
  });

  it("requires from CommonJS", () => {
    writeFileSync(
      join(project, "cjs.cjs"),
      `const { inspect } = require("weightbridge");\ninspect("model.pt").then((i) => console.log(i.format, i.tensors.length));\n`,
    );
    const r = run(process.execPath, ["cjs.cjs"], project);
    expect(r.out).toBe("pytorch 10\n");
  });

  it("type-checks from TypeScript, ESM and CommonJS", () => {
    writeFileSync(
      join(project, "a.mts"),
      `import { read, type Tensor } from "weightbridge";\nconst c = await read("model.pt");\nconst t: Tensor = c.tensors[0]!;\nconsole.log(t.name);\n`,
    );
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

  it("has the CLI bundle as its binary: one script that imports no module of its own", () => {
    const script = readFileSync(bin(), "utf8");
    expect(script.startsWith("#!/usr/bin/env node\n")).toBe(true);
    // tsc's per-file emit imports "../io/temporaries.js" and the like.
    expect(script).not.toMatch(/(?:\bfrom\s*|\bimport\s*\(\s*)["']\.\.?\//);
  });

  it("reads its schemas from the installed package: ONNX and TF checkpoint out, a Paddle program in", () => {
    for (const out of ["model.onnx", "model.index"]) {
      const convert = cli(["convert", "model.pt", out, "--quiet"]);
      expect(convert.code, convert.out).toBe(0);
      const back = cli(["inspect", out, "--json"]);
      expect(back.code, back.out).toBe(0);
      expect((JSON.parse(back.stdout) as { tensors: unknown[] }).tensors).toHaveLength(10);
    }
    const program = cli(["inspect", "inference.pdmodel"]);
    expect(program.code, program.out).toBe(0);
    expect(program.stdout).toContain("paddle_version");
  });

  it("checks a rule file against its schema and transposes in its own kernel worker", () => {
    // One float32 [768, 384] tensor: big enough (1.1 MiB) for a worker to take its transpose.
    const header = Buffer.from(JSON.stringify({ "fc.weight": { dtype: "F32", shape: [768, 384], data_offsets: [0, 768 * 384 * 4] } }));
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(header.length));
    const data = Buffer.alloc(768 * 384 * 4);
    for (let i = 0; i < data.length / 4; i++) data.writeFloatLE(i, i * 4);
    writeFileSync(join(project, "fc.safetensors"), Buffer.concat([size, header, data]));
    writeFileSync(
      join(project, "rules.json"),
      JSON.stringify({ rules: [{ id: "t", match: { name: "^fc\\.weight$" }, transforms: [{ op: "transpose", perm: [1, 0] }] }] }),
    );
    const convert = (out: string, workers: string) =>
      cli(["convert", "fc.safetensors", out, "--map", "rules.json", "--quiet"], { WEIGHTBRIDGE_WORKERS: workers });
    writeFileSync(join(project, "bad-rules.json"), JSON.stringify({ rules: [{ id: "t" }] }));
    const refused = cli(["convert", "fc.safetensors", "bad.safetensors", "--map", "bad-rules.json"]);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain("not a valid rule file");

    expect(convert("in-place.safetensors", "0").code).toBe(0);
    const inWorker = convert("in-worker.safetensors", "1");
    expect(inWorker.code, inWorker.out).toBe(0);
    expect(readFileSync(join(project, "in-worker.safetensors")).equals(readFileSync(join(project, "in-place.safetensors")))).toBe(true);
    const shape = cli(["inspect", "in-worker.safetensors", "--json"]);
    expect((JSON.parse(shape.stdout) as { tensors: Array<{ shape: number[] }> }).tensors[0]!.shape).toEqual([384, 768]);

    // The worker above really was the file beside the binary: one that fails there fails the job.
    const worker = join(dirname(bin()), "kernel-worker.js");
    renameSync(worker, `${worker}.real`);
    try {
      writeFileSync(worker, 'throw new Error("sabotaged kernel worker");\n');
      const failed = convert("sabotaged.safetensors", "1");
      expect(failed.code).not.toBe(0);
      expect(failed.out).toContain("sabotaged kernel worker");
    } finally {
      renameSync(`${worker}.real`, worker);
    }
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
