import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { isIP } from "node:net";
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

/** The file under PAGE a request asks for, undefined when it would leave PAGE, "bad" for a malformed %-encoding. */
function fileFor(url: string | undefined): string | undefined | "bad" {
  let path: string;
  try {
    path = decodeURIComponent(new URL(url ?? "/", "http://localhost").pathname);
  } catch {
    return "bad";
  }
  const file = normalize(join(PAGE, path.endsWith("/") ? `${path}index.html` : path));
  return file.startsWith(PAGE) || `${file}${sep}` === PAGE ? file : undefined;
}

/**
 * Whether a request's Host names this server: an IP literal, localhost, or the --host given. A
 * web page on another name that resolves to 127.0.0.1 (DNS rebinding) is refused: its script
 * would read the page's files under its own origin.
 */
export function hostAllowed(header: string | undefined, boundHost: string): boolean {
  if (!header) return false;
  const name = header.startsWith("[") ? header.slice(1, header.indexOf("]")) : header.replace(/:\d+$/, "");
  const lower = name.toLowerCase();
  return lower === "localhost" || lower === boundHost.toLowerCase() || isIP(lower) !== 0;
}

/** The page's files, read once: every request used to read the 6 MB bundle into a fresh buffer. */
const cache = new Map<string, Promise<Uint8Array | undefined>>();
function cachedFile(file: string): Promise<Uint8Array | undefined> {
  let bytes = cache.get(file);
  if (!bytes) {
    bytes = stat(file).then(
      (found) => (found.isFile() ? readFile(file) : undefined),
      () => undefined,
    );
    cache.set(file, bytes);
  }
  return bytes;
}

const HEADERS = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // Nothing leaves the page: no script, style, font or connection from anywhere else
  // (protobufjs compiles its decoders with new Function, hence unsafe-eval); no other page frames it.
  "content-security-policy":
    "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' blob: data:; frame-ancestors 'none'",
};

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "content-type": "text/plain", "x-content-type-options": "nosniff" });
  response.end(`${text}\n`);
}

async function answer(request: IncomingMessage, response: ServerResponse, boundHost: string): Promise<void> {
  if (!hostAllowed(request.headers.host, boundHost)) return plain(response, 403, "unknown host");
  if (request.method !== "GET" && request.method !== "HEAD") return plain(response, 405, "not found");
  const file = fileFor(request.url);
  if (file === "bad") return plain(response, 400, "bad request: malformed %-encoding");
  const bytes = file ? await cachedFile(file) : undefined;
  if (!file || !bytes) return plain(response, 404, "not found");
  response.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream", "content-length": bytes.byteLength, ...HEADERS });
  response.end(request.method === "HEAD" ? undefined : bytes);
}

const servers = new Set<Server>();

/** Closes every server servePage started (tests; the CLI serves until its process ends). */
export async function stopServing(): Promise<void> {
  await Promise.all([...servers].map((server) => new Promise((resolve) => server.close(resolve))));
  servers.clear();
}

/** Serves the page until the process is stopped; resolves with the URL once listening. */
export async function servePage(port: number, host: string): Promise<string> {
  if (!(await stat(join(PAGE, "index.html")).catch(() => undefined))) {
    throw new WeightbridgeError("io", "the page is not built (run npm run build)", { file: join(PAGE, "index.html") });
  }
  const server = createServer((request, response) => {
    answer(request, response, host).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  servers.add(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new WeightbridgeError("io", e.code === "EADDRINUSE" ? `port ${port} is in use (pick another with --port)` : e.message, { file: `${host}:${port}` }),
      ),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return `http://${host.includes(":") ? `[${host}]` : host}:${bound}/`;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

export const serveCommand: CommandModule<object, Args> = {
  command: "serve",
  describe: "Serve the in-browser page (inspect, scan, convert, diff, verify; files never leave the machine) on 127.0.0.1",
  builder: (y) =>
    y
      .option("port", {
        type: "number",
        coerce: numberFlag("port", { min: 0, max: 65535, integer: true }),
        default: 8080,
        describe: "port to listen on (0: any free port)",
      })
      .option("host", { type: "string", default: "127.0.0.1", describe: "address to bind (default 127.0.0.1: this machine only)" })
      .example("$0 serve", "open the printed URL in a browser; Ctrl-C stops it")
      .example("$0 serve --port 9000", "another port"),
  handler: async (args) => {
    const url = await servePage(args.port ?? 8080, args.host);
    if (!isLoopback(args.host)) {
      process.stderr.write(
        `weightbridge: warning: serving on ${args.host}: every machine that can reach this one can load the page (files dropped into it still stay in the browser)\n`,
      );
    }
    process.stdout.write(`weightbridge page at ${url} (Ctrl-C stops it)\n`);
    // Runs until a signal: main.ts's handlers exit the process.
    await new Promise(() => {});
  },
};
