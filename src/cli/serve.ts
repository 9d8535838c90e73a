import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { CommandModule } from "yargs";
import { WeightbridgeError } from "../errors.js";
import { packageFile } from "../util/package-root.js";
import { numberFlag } from "./args.js";

interface Args {
  port?: number;
  host: string;
}

/** The built page (scripts/build-web.mjs). */
const PAGE = fileURLToPath(packageFile("dist/web/"));

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".map": "application/json",
};

/** The file under PAGE a request asks for, or undefined when it would leave PAGE. */
function fileFor(url: string | undefined): string | undefined {
  const path = decodeURIComponent(new URL(url ?? "/", "http://localhost").pathname);
  const file = normalize(join(PAGE, path.endsWith("/") ? `${path}index.html` : path));
  return file.startsWith(PAGE) || `${file}${sep}` === PAGE ? file : undefined;
}

async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const file = request.method === "GET" || request.method === "HEAD" ? fileFor(request.url) : undefined;
  const found = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !found?.isFile()) {
    response.writeHead(request.method === "GET" || request.method === "HEAD" ? 404 : 405, { "content-type": "text/plain" });
    response.end("not found\n");
    return;
  }
  response.writeHead(200, {
    "content-type": MIME[extname(file)] ?? "application/octet-stream",
    "content-length": found.size,
    "cache-control": "no-cache",
    // Nothing leaves the page: no script, style, font or connection from anywhere else
    // (protobufjs compiles its decoders with new Function, hence unsafe-eval).
    "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' blob: data:",
  });
  response.end(request.method === "HEAD" ? undefined : await readFile(file));
}

/** Serves the page until the process is stopped; resolves with the URL once listening. */
export async function servePage(port: number, host: string): Promise<string> {
  if (!(await stat(join(PAGE, "index.html")).catch(() => undefined))) {
    throw new WeightbridgeError("io", "the page is not built (run npm run build)", { file: join(PAGE, "index.html") });
  }
  const server = createServer((request, response) => {
    answer(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new WeightbridgeError("io", e.code === "EADDRINUSE" ? `port ${port} is in use (pick another with --port)` : e.message, { file: `${host}:${port}` })),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return `http://${host.includes(":") ? `[${host}]` : host}:${bound}/`;
}

export const serveCommand: CommandModule<object, Args> = {
  command: "serve",
  describe: "Serve the in-browser page (inspect, scan, convert, diff, verify; files never leave the machine) on 127.0.0.1",
  builder: (y) =>
    y
      .option("port", { type: "number", coerce: numberFlag("port", { min: 0, max: 65535, integer: true }), default: 8080, describe: "port to listen on (0: any free port)" })
      .option("host", { type: "string", default: "127.0.0.1", describe: "address to bind (default 127.0.0.1: this machine only)" })
      .example("$0 serve", "open the printed URL in a browser; Ctrl-C stops it")
      .example("$0 serve --port 9000", "another port"),
  handler: async (args) => {
    const url = await servePage(args.port ?? 8080, args.host);
    process.stdout.write(`weightbridge page at ${url} (Ctrl-C stops it)\n`);
    // Runs until a signal: main.ts's handlers exit the process.
    await new Promise(() => {});
  },
};
