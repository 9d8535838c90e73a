// Microbenchmark of the layout kernels (transposes/permutes and float casts) on realistic shapes:
// the JS kernel, the WebAssembly SIMD kernel and what the dispatcher picks, each writing into a
// preallocated output, beside a plain copy of the same bytes. Medians of --runs (default 15).
//   npm run build && node bench/kernels.mjs [--runs N] [--baseline /work/main/dist] [--band-mib N]
// --baseline times another build's allocating kernels (permuteBytes/castBytes), e.g. the code
// before a change; their times include faulting in a fresh output. Each row runs in a process of
// its own (--row), so every kernel is timed as it runs in a conversion of one dtype, not slowed by
// type feedback from other rows. Not a test: nothing here asserts a time.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const { values: args } = parseArgs({
  options: { runs: { type: "string", default: "21" }, baseline: { type: "string" }, "band-mib": { type: "string" }, row: { type: "string" } },
});
const RUNS = Number(args.runs);
const dist = new URL("../dist/", import.meta.url);
const load = (base, path) => import(new URL(path, base).href);
// A baseline built before the kernels left src/tensor has them under tensor/.
const loadKernel = (base, path) => load(base, `kernels/${path}`).catch(() => load(base, `tensor/${path}`));
const plan = await load(dist, "kernels/permute-plan.js");
const { transposeJs } = await load(dist, "kernels/transpose-js.js");
const { transposeWasm, WASM_BANDS } = await load(dist, "kernels/wasm/transpose-wasm.js");
if (args["band-mib"]) WASM_BANDS.bytes = Number(args["band-mib"]) * 2 ** 20;
const { permuteInto } = await load(dist, "kernels/permute.js");
const { castFloatInto } = await load(dist, "kernels/cast-kernels.js");
const { castWasm } = await load(dist, "kernels/wasm/cast-wasm.js");
const { castInto, numberFromFloat16Bits } = await load(dist, "kernels/cast.js");
const { seededRandom } = await load(dist, "verify/random.js");
const baseDist = args.baseline ? pathToFileURL(resolve(args.baseline) + "/") : undefined;
const old = baseDist && {
  permute: (await loadKernel(baseDist, "permute.js")).permuteBytes,
  cast: (await loadKernel(baseDist, "cast.js")).castBytes,
};

function median(times) {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}
/**
 * Median CPU time (user + system, ms) of each candidate, run in turns so that load from neighbours
 * falls on all of them alike: on a shared 2-core machine wall time mostly measures the neighbours.
 */
function timeAll(candidates) {
  const names = Object.keys(candidates).filter((name) => candidates[name]);
  const times = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = -2; i < RUNS; i++) {
    for (const name of names) {
      const start = process.cpuUsage();
      candidates[name]();
      const used = process.cpuUsage(start);
      if (i >= 0) times[name].push((used.user + used.system) / 1e3); // two warm-up turns (JIT, memory growth)
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(times[name])]));
}
const ms = (t) => (t === undefined ? "" : t.toFixed(2));
const same = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Weight-like float32 values (≈ N(0, 0.05)) as bytes; other sizes get random bytes. */
function inputBytes(length, elementSize, seed) {
  const random = seededRandom(seed);
  if (elementSize === 4) {
    const f = new Float32Array(length / 4);
    for (let i = 0; i < f.length; i++) f[i] = (random() + random() + random() - 1.5) * 0.1;
    return new Uint8Array(f.buffer);
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 256) | 0;
  return out;
}

const permutes = [
  ["Linear 768×3072 float32", [768, 3072], 4, [1, 0]],
  ["Linear 3072×768 float32", [3072, 768], 4, [1, 0]],
  ["Linear 768×768 float32", [768, 768], 4, [1, 0]],
  ["Linear 1024×4096 float32", [1024, 4096], 4, [1, 0]],
  ["odd 1023×769 float32", [1023, 769], 4, [1, 0]],
  ["odd 1000×37 float32", [1000, 37], 4, [1, 0]],
  ["odd 37×1000 float32", [37, 1000], 4, [1, 0]],
  ["Linear 768×3072 bfloat16", [768, 3072], 2, [1, 0]],
  ["Linear 768×3072 int8", [768, 3072], 1, [1, 0]],
  ["Linear 768×768 float64", [768, 768], 8, [1, 0]],
  ["conv OIHW→HWIO 256×256×3×3", [256, 256, 3, 3], 4, [2, 3, 1, 0]],
  ["conv OIHW→HWIO 512×512×3×3", [512, 512, 3, 3], 4, [2, 3, 1, 0]],
  ["conv OIHW→HWIO 64×3×7×7", [64, 3, 7, 7], 4, [2, 3, 1, 0]],
  ["conv HWIO→OIHW 3×3×256×256", [3, 3, 256, 256], 4, [3, 2, 0, 1]],
  ["conv OIHW→HWOI 128×64×3×3", [128, 64, 3, 3], 4, [2, 3, 0, 1]],
  ["conv1d OIK→KIO 256×128×5", [256, 128, 5], 4, [2, 1, 0]],
  ["conv3d OIDHW→DHWIO 64×32×3×3×3", [64, 32, 3, 3, 3], 4, [2, 3, 4, 1, 0]],
];

const ROW = args.row === undefined ? undefined : Number(args.row);
/** In the parent: runs row `i` in a child and prints its line. In a child: true for its own row. */
function mine(i) {
  if (ROW !== undefined) return ROW === i;
  const rest = process.argv.slice(2);
  const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, ...rest, "--row", String(i)], { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`row ${i} failed: ${child.stderr}`);
  process.stdout.write(child.stdout);
  return false;
}
const say = (line) => ROW === undefined && console.log(line);

say(`## permutes (CPU ms, median of ${RUNS}; output preallocated; WebAssembly bands of ${WASM_BANDS.bytes / 2 ** 20} MiB)\n`);
say(`| shape | MB | copy | ${old ? "before (alloc) | " : ""}JS | WASM | picked | WASM/JS |`);
say(`|---|---:|---:|${old ? "---:|" : ""}---:|---:|---:|---:|`);
for (const [i, [name, shape, size, perm]] of permutes.entries()) {
  if (!mine(i)) continue;
  const bytes = shape.reduce((a, b) => a * b, 1) * size;
  const src = inputBytes(bytes, size, bytes);
  const a = new Uint8Array(bytes);
  const b = new Uint8Array(bytes);
  const p = plan.normalizePermutation(shape, perm, size);
  const batched = plan.batchedTranspose(p.shape, p.perm);
  const handled = transposeWasm(src, b, p);
  if (handled) transposeJs(src, a, batched, p.elementSize);
  if (handled && !same(a, b)) throw new Error(`${name}: WASM and JS differ`);
  const t = timeAll({
    copy: () => a.set(src),
    before: old && (() => old.permute(src, shape, size, perm)),
    js: () => transposeJs(src, a, batched, p.elementSize),
    wasm: handled && (() => transposeWasm(src, b, p)),
    picked: () => permuteInto(src, b, shape, size, perm),
  });
  const { copy, before, js, wasm, picked } = t;
  const ratio = wasm === undefined ? "JS only" : (wasm / js).toFixed(2);
  console.log(`| ${name} | ${(bytes / 1e6).toFixed(1)} | ${ms(copy)} | ${old ? ms(before) + " | " : ""}${ms(js)} | ${ms(wasm)} | ${ms(picked)} | ${ratio} |`);
}

const casts = [
  ["float32", "bfloat16"],
  ["float32", "float16"],
  ["bfloat16", "float32"],
  ["float16", "float32"],
  ["float16", "bfloat16"],
];
const SIZE = { float32: 4, float16: 2, bfloat16: 2 };
const COUNT = 768 * 3072;
say(`\n## casts of ${COUNT} elements (768×3072; CPU ms, median of ${RUNS}; output preallocated)\n`);
say(`| cast | copy of the input | ${old ? "before (alloc) | " : ""}JS | WASM | picked | WASM/JS |`);
say(`|---|---:|${old ? "---:|" : ""}---:|---:|---:|---:|`);
const weights = inputBytes(COUNT * 4, 4, 7);
for (const [i, [from, to]] of casts.entries()) {
  if (!mine(100 + i)) continue;
  // Half-precision inputs are real casts of the weights, so their values are realistic too.
  const src = from === "float32" ? weights : new Uint8Array(COUNT * 2);
  if (from !== "float32") castFloatInto(weights, src, "float32", from, numberFromFloat16Bits);
  const a = new Uint8Array(COUNT * SIZE[to]);
  const b = new Uint8Array(COUNT * SIZE[to]);
  const scratch = new Uint8Array(src.byteLength);
  castFloatInto(src, a, from, to, numberFromFloat16Bits);
  castWasm(src, b, from, to);
  if (!same(a, b)) throw new Error(`${from} → ${to}: WASM and JS differ`);
  const { copy, before, js, wasm, picked } = timeAll({
    copy: () => scratch.set(src),
    before: old && (() => old.cast(src, from, to)),
    js: () => castFloatInto(src, a, from, to, numberFromFloat16Bits),
    wasm: () => castWasm(src, b, from, to),
    picked: () => castInto(src, b, from, to),
  });
  console.log(`| ${from} → ${to} | ${ms(copy)} | ${old ? ms(before) + " | " : ""}${ms(js)} | ${ms(wasm)} | ${ms(picked)} | ${(wasm / js).toFixed(2)} |`);
}
