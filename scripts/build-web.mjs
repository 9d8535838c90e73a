// Builds the page (src/web, the same library the CLI uses) into dist/web/: one bundled script,
// the HTML with its stylesheet inlined. Runs after tsc, which type-checks src/web with the rest
// (its per-file output under dist/web is replaced here: the page is the bundle). Node built-ins map to small browser shims (src/web/shims):
// path is POSIX arithmetic, fs serves only the package's schemas/ (embedded here), and anything
// that would touch the file system throws a WeightbridgeError saying it is not available.
import { build } from "esbuild";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "web");

const SHIMS = {
  "node:path": "path.ts",
  "node:fs": "fs.ts",
  "node:fs/promises": "fs-promises.ts",
  "node:os": "os.ts",
  "node:url": "url.ts",
  "node:util": "util.ts",
  "node:worker_threads": "worker-threads.ts",
  "node:zlib": "zlib.ts",
};

function filesUnder(folder) {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const browserShims = {
  name: "browser-shims",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => {
      const shim = SHIMS[args.path];
      if (!shim) return { errors: [{ text: `${args.path} has no browser shim (add one in src/web/shims/ and scripts/build-web.mjs)` }] };
      return { path: join(root, "src", "web", "shims", shim) };
    });
    b.onResolve({ filter: /^weightbridge:schemas$/ }, () => ({ path: "schemas", namespace: "weightbridge" }));
    b.onLoad({ filter: /.*/, namespace: "weightbridge" }, () => {
      const folder = join(root, "schemas");
      const paths = filesUnder(folder);
      const files = Object.fromEntries(paths.map((f) => [relative(folder, f).split("\\").join("/"), readFileSync(f, "utf8")]));
      return { contents: `export default ${JSON.stringify(files)};`, loader: "js", watchFiles: paths };
    });
  },
};

export async function buildWeb({ minify = true } = {}) {
  const result = await build({
    entryPoints: [join(root, "src", "web", "ui", "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify,
    sourcemap: false,
    legalComments: "none",
    write: false,
    outdir: out,
    plugins: [browserShims],
    define: { __WEIGHTBRIDGE_VERSION__: JSON.stringify(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version) },
    logLevel: "warning",
  });
  const script = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const css = readFileSync(join(root, "web", "style.css"), "utf8");
  const html = readFileSync(join(root, "web", "index.html"), "utf8").replace("/*STYLE*/", () => css);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "app.js"), script.contents);
  writeFileSync(join(out, "index.html"), html);
  return { bytes: script.contents.byteLength };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const { bytes } = await buildWeb();
  if (!process.argv.includes("--quiet")) console.log(`dist/web: app.js ${(bytes / 1048576).toFixed(1)} MiB in ${Date.now() - started} ms`);
}
