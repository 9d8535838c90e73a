import { spawnSync } from "node:child_process";
import { request } from "node:http";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CLI } from "../helpers/cli.js";

// Counts the page's file reads: each file is read once, not once per request.
const reads = vi.hoisted(() => new Map<string, number>());
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...fs,
    readFile: (path: string, ...rest: unknown[]) => {
      reads.set(String(path), (reads.get(String(path)) ?? 0) + 1);
      return (fs.readFile as (...a: unknown[]) => unknown)(path, ...rest);
    },
  };
});

const { servePage, stopServing, hostAllowed } = await import("../../src/cli/serve.js");
const built = existsSync(join(import.meta.dirname, "../../dist/web/index.html"));
let port = "";

function get(path: string, host?: string): Promise<{ status: number; headers: Record<string, unknown>; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers: host === undefined ? {} : { host } }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.byteLength));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe.skipIf(!built)("serve: hardened against other origins and heavy use", () => {
  beforeAll(async () => {
    port = new URL(await servePage(0, "127.0.0.1")).port;
  });
  afterAll(() => stopServing());

  it("answers only Host names of this machine (DNS rebinding): localhost and IP literals", async () => {
    expect((await get("/", `localhost:${port}`)).status).toBe(200);
    expect((await get("/", `127.0.0.1:${port}`)).status).toBe(200);
    expect((await get("/", `attacker.example:${port}`)).status).toBe(403);
    expect((await get("/", "rebind.127.0.0.1.nip.io")).status).toBe(403);
    expect(hostAllowed("[::1]:8080", "127.0.0.1")).toBe(true);
    expect(hostAllowed(undefined, "127.0.0.1")).toBe(false);
    expect(hostAllowed("mybox.lan:8080", "mybox.lan")).toBe(true);
  });

  it("sends nosniff and frame-ancestors 'none'", async () => {
    const page = await get("/", `localhost:${port}`);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(String(page.headers["content-security-policy"])).toMatch(/frame-ancestors 'none'/);
  });

  it("a malformed %-encoding is a 400, not a 500", async () => {
    expect((await get("/%E0%A4%A", `localhost:${port}`)).status).toBe(400);
    expect((await get("/%", `localhost:${port}`)).status).toBe(400);
  });

  it("50 concurrent requests for app.js read it from disk once", async () => {
    const before = [...reads].filter(([p]) => p.endsWith("app.js")).reduce((n, [, c]) => n + c, 0);
    const answers = await Promise.all(Array.from({ length: 50 }, () => get("/app.js", `localhost:${port}`)));
    expect(answers.every((a) => a.status === 200 && a.bytes > 0)).toBe(true);
    const after = [...reads].filter(([p]) => p.endsWith("app.js")).reduce((n, [, c]) => n + c, 0);
    expect(after - before).toBeLessThanOrEqual(1);
  });
});

describe.skipIf(!existsSync(CLI) || !built)("serve --host 0.0.0.0", () => {
  it("warns that every machine that can reach this one can load the page", () => {
    // The warning is printed once listening; the timeout ends the serving process.
    const result = spawnSync(process.execPath, [CLI, "serve", "--host", "0.0.0.0", "--port", "0"], { encoding: "utf8", timeout: 15_000, killSignal: "SIGINT" });
    expect(result.stderr).toMatch(/warning: serving on 0\.0\.0\.0: every machine that can reach this one/);
  });
});
