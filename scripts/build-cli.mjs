// Bundles the CLI into dist/cli/main.js, replacing tsc's emit of that one file (the library stays
// tsc's per-file dist/), so a command starts by compiling one minified script instead of loading
// some 200 modules. The kernel worker gets its own bundle beside it, dist/cli/kernel-worker.js,
// which is where kernel-pool's `new URL("./kernel-worker.js", import.meta.url)` points from the
// bundle (from dist/kernels/kernel-pool.js it is tsc's dist/kernels/kernel-worker.js).
import { build } from "esbuild";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// yargs finds its translations (locales/) from its own file's URL, which inlined would be the
// bundle's: point it at the installed yargs (a dependency, so there) for the same messages.
const SHIM_DIRNAME = "fileURLToPath(import.meta.url)";
const yargsLocales = {
  name: "yargs-locales",
  setup(b) {
    b.onLoad({ filter: /yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes(SHIM_DIRNAME)) return { errors: [{ text: `yargs' shim no longer has ${SHIM_DIRNAME}: update scripts/build-cli.mjs` }] };
      const installed = 'fileURLToPath(new URL("lib/platform-shims/esm.mjs", import.meta.resolve("yargs")))';
      return { contents: text.replace(SHIM_DIRNAME, installed), loader: "js" };
    });
  },
};

export async function buildCli() {
  await build({
    entryPoints: [join(root, "src", "cli", "main.ts"), join(root, "src", "kernels", "kernel-worker.ts")],
    outdir: join(root, "dist", "cli"),
    entryNames: "[name]",
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Minified, V8 compiles the bundle in a third of the time.
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: "none",
    // h5wasm is 4 MiB loaded only for Keras/HDF5 files; onnxruntime-node is an optional native peer.
    external: ["h5wasm", "onnxruntime-node"],
    // CommonJS dependencies (protobufjs) call require() for Node built-ins.
    banner: { js: 'import{createRequire as __wbRequire}from"node:module";const require=__wbRequire(import.meta.url);' },
    plugins: [yargsLocales],
    logLevel: "warning",
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildCli();
