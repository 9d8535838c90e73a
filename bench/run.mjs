#!/usr/bin/env node
// weightbridge benchmark: `npm run bench [-- --big | --big-only | --transformer-only] [-- --runs N] [-- --out FILE.md]`.
// Generates checkpoints with real torch (cached in bench/data/), then times cp, the Python
// baselines and the built CLI side by side, printing wall time, ratio to cp, speed-up over
// Python, peak RSS, user/sys CPU time and minor page faults of the child. Timings live here,
// never in tests.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, readSync, closeSync } from "node:fs";
import { cpus, totalmem, release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const data = join(here, "data");
const cli = join(root, "dist", "cli", "main.js");
const python = "/usr/bin/python3";
const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 && argv[at + 1] ? argv[at + 1] : fallback;
};
const runs = Number(option("runs", "3"));
const bigOnly = flag("big-only");
const transformerOnly = flag("transformer-only");
const big = flag("big") || bigOnly;
const report = option("out", join(data, "last-run.md"));

if (!existsSync(cli)) {
  console.error("bench: dist/cli/main.js is missing; run `npm run build` first");
  process.exit(2);
}
mkdirSync(data, { recursive: true });

function ensure(kind) {
  const path = join(data, `${kind}.pth`);
  if (!existsSync(path)) {
    console.error(`bench: generating ${path} with torch ...`);
    const r = spawnSync(python, [join(here, "generate.py"), kind, path], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`generate.py ${kind} failed`);
  }
  return path;
}

// Cache policy: every run starts with the input in the page cache and no dirty pages left by the
// previous run (sync, then drop caches when allowed, then read the input once).
let canDrop = true;
function prepare(input) {
  spawnSync("sync");
  if (canDrop) {
    try {
      writeFileSync("/proc/sys/vm/drop_caches", "3");
    } catch {
      canDrop = false;
    }
  }
  const fd = openSync(input, "r");
  const buf = Buffer.allocUnsafe(16 << 20);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

/**
 * Runs a command, returning wall seconds and, from getrusage of the child: peak RSS in MiB,
 * minor page faults and user/sys CPU seconds.
 */
function measure(command) {
  const usageFile = join(data, ".rusage");
  const full = timeBin ? [timeBin, "-f", "%M %R %U %S", "-o", usageFile, ...command] : [python, "-c", RUSAGE_WRAPPER, usageFile, ...command];
  const start = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 24 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${command.join(" ")} failed (${r.status}): ${r.stderr.toString().trim().split("\n").slice(-3).join(" | ")}`);
  const [kib, minflt, user, sys] = readFileSync(usageFile, "utf8").trim().split("\n").pop().trim().split(/\s+/).map(Number);
  return { seconds, rss: kib / 1024, minflt, user, sys };
}

const RUSAGE_WRAPPER = `
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{u.ru_maxrss} {u.ru_minflt} {u.ru_utime:.2f} {u.ru_stime:.2f}")
sys.exit(rc)`;

function scrub(path) {
  for (const p of [path, `${path}.data`, `${path}.bin`]) rmSync(p, { force: true });
}

/** The run with the best (minimum) wall time, with its own CPU times and faults; RSS is the largest seen. */
function bench(label, input, output, command) {
  let best;
  for (let i = 0; i < runs; i++) {
    scrub(output);
    prepare(input);
    const m = measure(command);
    best = !best ? m : { ...(m.seconds < best.seconds ? m : best), rss: Math.max(best.rss, m.rss) };
  }
  const size = existsSync(output) ? statSync(output).size : 0;
  scrub(output);
  console.error(
    `  ${label.padEnd(44)} ${best.seconds.toFixed(2).padStart(6)} s  ${best.user.toFixed(2).padStart(5)} u ${best.sys.toFixed(2).padStart(5)} s  ${String(best.minflt).padStart(7)} minflt  ${best.rss.toFixed(0).padStart(6)} MiB`,
  );
  return { label, ...best, size };
}

const wb = (input, output, ...extra) => ["node", cli, "convert", input, output, "--force", ...extra];
/** The kernel worker count is automatic (none below 4 cores); these rows force it. */
const withWorkers = (n, command) => ["env", `WEIGHTBRIDGE_WORKERS=${n}`, ...command];
const py = (mode, input, output) => [python, join(here, "baselines.py"), mode, input, output];

function table(title, rows, floor, pythonRef) {
  const lines = [`### ${title}`, "", "| run | wall (s) | user (s) | sys (s) | minor faults | × cp | vs Python | peak RSS (MiB) |", "|---|---:|---:|---:|---:|---:|---:|---:|"];
  for (const r of rows) {
    const ref = r.python ? pythonRef[r.python] : undefined;
    const vs = ref && !r.label.startsWith("Python") ? `${(ref.seconds / r.seconds).toFixed(1)}× faster` : "";
    lines.push(`| ${r.label} | ${r.seconds.toFixed(2)} | ${r.user.toFixed(2)} | ${r.sys.toFixed(2)} | ${r.minflt} | ${(r.seconds / floor.seconds).toFixed(2)} | ${vs} | ${r.rss.toFixed(0)} |`);
  }
  return lines.join("\n");
}

function machine() {
  const torch = spawnSync(python, ["-c", "import torch, numpy; print(torch.__version__, numpy.__version__)"]).stdout.toString().trim();
  const fs = spawnSync("df", ["-T", data]).stdout.toString().trim().split("\n").pop()?.split(/\s+/)[1];
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  return [
    `- CPU: ${cpus()[0]?.model} × ${cpus().length}, RAM ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, file system ${fs}`,
    `- Node ${process.version}; Python torch/numpy ${torch}`,
    `- load average at the start: ${load}`,
    `- cache: ${canDrop ? "page cache dropped (sync; drop_caches=3), then the input read once" : "could not drop the page cache; sync, then the input read once"} before every run, so each run starts with a warm input and no dirty pages`,
    `- best of ${runs} run(s) by wall time, with that run's user/sys time and minor page faults; peak RSS is the largest of the runs (/usr/bin/time %M %R %U %S, or getrusage of the child)`,
  ].join("\n");
}

const out = (ext) => join(data, `out.${ext}`);
const formats = spawnSync("node", [cli, "formats"]).stdout.toString();
const hasPaddle = /^paddle\s/m.test(formats);
const hasMap = spawnSync("node", [cli, "convert", "--help"]).stdout.toString().includes("--map");
const sections = [];
if (!bigOnly) standardCases();

function standardCases() {
  if (!transformerOnly) mainCases();
  if (hasPaddle) transformerCases();
}

function mainCases() {
  const main = ensure("main");
  const mainGB = (statSync(main).size / 1e9).toFixed(2);
  console.error(`bench: ${main} (${mainGB} GB), ${runs} run(s) each`);

  {
    const cp = bench("cp", main, out("pth"), ["cp", main, out("pth")]);
    const cpSync = bench("cp + fsync (our sink fsyncs before rename)", main, out("pth"), ["sh", "-c", `cp "${main}" "${out("pth")}" && sync "${out("pth")}"`]);
    const pySave = bench("Python torch.load + torch.save", main, out("pth"), py("save", main, out("pth")));
    const pyPd = bench("Python torch.load + pickle .pdparams", main, out("pdparams"), py("pdparams", main, out("pdparams")));
    const rows = [cp, cpSync, pySave, pyPd];
    rows.push({ ...bench("weightbridge pth → safetensors", main, out("safetensors"), wb(main, out("safetensors"))), python: "save" });
    if (hasPaddle) rows.push({ ...bench("weightbridge pth → pdparams", main, out("pdparams"), wb(main, out("pdparams"))), python: "pdparams" });
    rows.push({ ...bench("weightbridge pth → pth", main, out("pth"), wb(main, out("pth"))), python: "save" });
    rows.push({ ...bench("weightbridge pth → onnx (external data)", main, out("onnx"), wb(main, out("onnx"), "--external-data")), python: "save" });
    rows.push({ ...bench("weightbridge pth → keras-h5", main, out("h5"), wb(main, out("h5"), "--to", "keras-h5")), python: "save" });
    rows.push({ ...bench("weightbridge pth → safetensors --dtype bfloat16", main, out("safetensors"), wb(main, out("safetensors"), "--dtype", "bfloat16")), python: "save" });
    rows.push({ ...bench("  same, casts in 1 worker thread", main, out("safetensors"), withWorkers(1, wb(main, out("safetensors"), "--dtype", "bfloat16"))), python: "save" });
    sections.push(table(`${mainGB} GB float32 checkpoint (bench/data/main.pth)`, rows, cp, { save: pySave, pdparams: pyPd }));
  }
}

function transformerCases() {
  {
    const tr = ensure("transformer");
    const gb = (statSync(tr).size / 1e9).toFixed(2);
    console.error(`bench: ${tr} (${gb} GB)`);
    const cp = bench("cp", tr, out("pth"), ["cp", tr, out("pth")]);
    const pyT = bench("Python torch.load + .T + pickle .pdparams", tr, out("pdparams"), py("torch2paddle", tr, out("pdparams")));
    const rows = [cp, pyT];
    rows.push({ ...bench("weightbridge pth → pdparams (no mapping)", tr, out("pdparams"), wb(tr, out("pdparams"))), python: "t" });
    if (hasMap) rows.push({ ...bench("weightbridge --map torch2paddle (transposes)", tr, out("pdparams"), wb(tr, out("pdparams"), "--map", "torch2paddle")), python: "t" });
    if (hasMap) rows.push({ ...bench("  same, transposes in 1 worker thread", tr, out("pdparams"), withWorkers(1, wb(tr, out("pdparams"), "--map", "torch2paddle"))), python: "t" });
    sections.push(table(`${gb} GB transformer-shaped checkpoint, Linear weights transposed (bench/data/transformer.pth)`, rows, cp, { t: pyT }));
  }

}

if (big) {
  const input = ensure("big");
  const gb = (statSync(input).size / 1e9).toFixed(2);
  console.error(`bench: ${input} (${gb} GB)`);
  const cp = bench("cp", input, out("pth"), ["cp", input, out("pth")]);
  const rows = [cp];
  rows.push(bench("weightbridge pth → safetensors", input, out("safetensors"), wb(input, out("safetensors"))));
  if (hasPaddle) rows.push(bench("weightbridge pth → pdparams", input, out("pdparams"), wb(input, out("pdparams"))));
  // Keep the >4 GiB zip output for the ZIP64 check by torch and zipfile.
  scrub(out("pth"));
  prepare(input);
  const m = measure(wb(input, out("pth")));
  rows.push({ label: "weightbridge pth → pth (ZIP64)", ...m });
  console.error(`  checking ${out("pth")} (${(statSync(out("pth")).size / 2 ** 30).toFixed(2)} GiB) with zipfile and torch.load ...`);
  const check = spawnSync(python, [join(here, "baselines.py"), "check-zip64", input, out("pth")], { encoding: "utf8" });
  scrub(out("pth"));
  const verdict = check.status === 0 ? check.stdout.trim().split("\n").map((l) => `- ${l}`).join("\n") : `- ZIP64 CHECK FAILED: ${check.stderr.trim().split("\n").pop()}`;
  const worst = Math.max(...rows.slice(1).map((r) => r.rss));
  sections.push(`${table(`${gb} GB checkpoint, one 2.3 GB tensor (bench/data/big.pth)`, rows, cp, {})}\n\n${verdict}\n- peak RSS ${worst.toFixed(0)} MiB: ${worst < 1024 ? "under" : "OVER"} 1 GiB`);
}

const text = `## Run of ${new Date().toISOString()}\n\n${machine()}\n\n${sections.join("\n\n")}\n`;
writeFileSync(report, text);
console.log(text);
console.error(`bench: written to ${report}`);
