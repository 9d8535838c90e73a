import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { CLI } from "../helpers/cli.js";

let server: ChildProcess;
let base: string;

/** GET with the path sent as given (fetch would normalize `..` away). */
function get(path: string): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("weightbridge serve", () => {
  beforeAll(async () => {
    server = spawn(process.execPath, [CLI, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    base = await new Promise<string>((resolve, reject) => {
      let out = "";
      server.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (url) resolve(url[0]);
      });
      server.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    });
  });
  afterAll(() => {
    server.kill("SIGINT");
  });

  it("prints a 127.0.0.1 URL and serves the built page with its MIME types", async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.type).toBe("text/html; charset=utf-8");
    expect(page.body).toContain('id="pick-files"');
    const script = await get("/app.js");
    expect(script.status).toBe(200);
    expect(script.type).toBe("text/javascript; charset=utf-8");
  });

  it("serves nothing outside dist/web", async () => {
    expect((await get("/../package.json")).status).toBe(404);
    expect((await get("/%2e%2e/%2e%2e/package.json")).status).toBe(404);
    expect((await get("/no-such-file.js")).status).toBe(404);
  });

  it("stops on Ctrl-C", async () => {
    const stopped = new Promise<number | null>((resolve) => server.on("exit", (code, signal) => resolve(code ?? (signal ? 130 : null))));
    server.kill("SIGINT");
    expect(await stopped).toBe(130);
  });
});
