#!/usr/bin/env node
// weightbridge benchmark: `npm run bench [-- --big | --big-only | --transformer-only] [-- --runs N] [-- --workers] [-- --out FILE.md]`.
// Generates checkpoints with real torch (cached in bench/data/), then times cp, the Python
// baselines and the built CLI side by side, printing wall time, ratio to cp, speed-up over
// Python, peak RSS, user/sys CPU time and minor page faults of the child. Timings live here,
// never in tests.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem, release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNow, measure, prepare } from "./measure.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const data = join(here, "data");
const cli = join(root, "dist", "cli", "main.js");
const python = "/usr/bin/python3";

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

function scrub(path) {
  for (const p of [path, `${path}.data`, `${path}.bin`]) rmSync(p, { force: true });
}

/** Median of numbers (the middle one; the lower middle for an even count). */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Runs every row of a section `runs` times, alternating (row 1, row 2, ..., row 1, row 2, ...), so
 * a change in the machine's load hits all rows alike; each row reports the median wall, user, sys
 * and minor-fault figures of its runs, the largest peak RSS and the range of the 1-minute load
 * average at the start of its runs.
 */
function benchSection(specs) {
  const samples = specs.map(() => []);
  for (let run = 0; run < runs; run++) {
    specs.forEach((spec, i) => {
      scrub(spec.output);
      prepare(spec.input);
      const load = loadNow();
      samples[i].push({ ...measure(spec.command, join(data, ".rusage")), load });
      if (run === runs - 1) spec.size = existsSync(spec.output) ? statSync(spec.output).size : 0;
      scrub(spec.output);
    });
  }
  return specs.map((spec, i) => {
    const all = samples[i];
    const r = {
      ...spec,
      seconds: median(all.map((m) => m.seconds)),
      user: median(all.map((m) => m.user)),
      sys: median(all.map((m) => m.sys)),
      minflt: median(all.map((m) => m.minflt)),
      rss: Math.max(...all.map((m) => m.rss)),
      walls: all.map((m) => m.seconds),
      loads: [Math.min(...all.map((m) => m.load)), Math.max(...all.map((m) => m.load))],
    };
    console.error(
      `  ${spec.label.padEnd(48)} ${r.seconds.toFixed(2).padStart(6)} s  ${r.user.toFixed(2).padStart(5)} u ${r.sys.toFixed(2).padStart(5)} s  ${String(r.minflt).padStart(7)} minflt  ${r.rss.toFixed(0).padStart(5)} MiB  load ${r.loads.map((l) => l.toFixed(1)).join("–")}  [${r.walls.map((w) => w.toFixed(2)).join(" ")}]`,
    );
    return r;
  });
}

/**
 * A row to run. `ref`: the label of the row it is compared with (`target`: the ratio the issue
 * asks for); `floorTarget`: the ratio to `cp + fsync` asked for; `python`: the label of the Python
 * row doing the same work; `floor`: this row is `cp + fsync`.
 */
const row = (label, input, output, command, extra = {}) => ({ label, input, output, command, ...extra });

const wb = (input, output, ...extra) => ["node", cli, "convert", input, output, "--force", ...extra];
/** The kernel worker count is automatic (none below 4 cores); these rows force it. */
const withWorkers = (n, command) => ["env", `WEIGHTBRIDGE_WORKERS=${n}`, ...command];
const py = (mode, input, output) => [python, join(here, "baselines.py"), mode, input, output];

const mark = (ratio, limit, atMost = true) => ((atMost ? ratio <= limit : ratio >= limit) ? " ✓" : " ✗");

/**
 * One table: per row the medians, minor faults per GB of input, the ratio to `cp + fsync` and to
 * the row it is compared with (targets in brackets, ✓ when met), and Python's time over ours.
 */
function table(title, rows, inputBytes) {
  const floor = rows.find((r) => r.floor);
  const startup = rows.find((r) => r.startup);
  const byLabel = new Map(rows.map((r) => [r.label, r]));
  const lines = [
    `### ${title}`,
    "",
    "| run | wall (s) | user (s) | sys (s) | minor faults | faults / GB above start-up | peak RSS (MiB) | × cp + fsync (target) | × reference (target) | Python ÷ this | load |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const ours = (r.label.startsWith("weightbridge") || r.label.startsWith("  same")) && !r.startup;
    const ref = r.ref && byLabel.get(r.ref);
    const ratio = ref ? r.seconds / ref.seconds : undefined;
    const refText = ratio === undefined ? "" : `${ratio.toFixed(2)} vs ${r.refName ?? r.ref}${r.target ? ` (≤ ${r.target}${mark(ratio, r.target)})` : ""}`;
    const toFloor = floor && ours ? r.seconds / floor.seconds : undefined;
    const cpText = toFloor === undefined ? "" : `${toFloor.toFixed(2)}${r.floorTarget ? ` (≤ ${r.floorTarget}${mark(toFloor, r.floorTarget)})` : ""}`;
    const pyRow = r.python && byLabel.get(r.python);
    const pyText = pyRow ? `${(pyRow.seconds / r.seconds).toFixed(1)}× (≥ 4${mark(pyRow.seconds / r.seconds, 4, false)})` : "";
    const perGB = Math.round((r.minflt - (startup?.minflt ?? 0)) / (inputBytes / 1e9));
    const perGBText = ours ? `${perGB}${mark(perGB, 20000)}` : "";
    const rssText = ours ? `${r.rss.toFixed(0)}${mark(r.rss, 256)}` : r.rss.toFixed(0);
    lines.push(
      `| ${r.label} | ${r.seconds.toFixed(2)} | ${r.user.toFixed(2)} | ${r.sys.toFixed(2)} | ${r.minflt} | ${perGBText} | ${rssText} | ${cpText} | ${refText} | ${pyText} | ${r.loads.map((l) => l.toFixed(1)).join("–")} |`,
    );
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
    `- ${runs} runs per row, alternating between the rows of a table; each figure is the median of its row's runs (wall, user, sys, minor faults; /usr/bin/time %M %R %U %S, or getrusage of the child), peak RSS the largest; "load" is the range of the 1-minute load average at the start of the row's runs`,
    `- "faults / GB above start-up": the row's minor faults minus those of \`weightbridge --version\` (Node and the modules loading), per GB of input`,
    `- targets (issue 17): copy-like ≤ 1.3× cp + fsync; transposes ≤ 1.5× the same conversion without mapping; bfloat16 casts and keras-h5 ≤ 1.5× → safetensors; ≤ 20k minor faults per GB; peak RSS ≤ 256 MiB; Python ≥ 4× slower`,
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

/** `cp` and `cp + fsync` of the input: the copy floor (our sink fsyncs before its rename). */
function floorRows(input) {
  return [
    row("cp", input, out("pth"), ["cp", input, out("pth")]),
    row("cp + fsync", input, out("pth"), ["sh", "-c", `cp "${input}" "${out("pth")}" && sync "${out("pth")}"`], { floor: true }),
    row("weightbridge --version (start-up only)", input, out("none"), ["node", cli, "--version"], { startup: true }),
  ];
}

function mainCases() {
  const main = ensure("main");
  const size = statSync(main).size;
  const mainGB = (size / 1e9).toFixed(2);
  console.error(`bench: ${main} (${mainGB} GB), ${runs} alternating run(s) per row`);
  const copyLike = { floorTarget: 1.3 };
  const st = "weightbridge pth → safetensors";
  const rows = [
    ...floorRows(main),
    row("Python torch.load + torch.save", main, out("pth"), py("save", main, out("pth"))),
    row("Python torch.load + pickle .pdparams", main, out("pdparams"), py("pdparams", main, out("pdparams"))),
    row(st, main, out("safetensors"), wb(main, out("safetensors")), { ...copyLike, python: "Python torch.load + torch.save" }),
    ...(hasPaddle
      ? [row("weightbridge pth → pdparams", main, out("pdparams"), wb(main, out("pdparams")), { ...copyLike, python: "Python torch.load + pickle .pdparams" })]
      : []),
    row("weightbridge pth → pth", main, out("pth"), wb(main, out("pth")), { ...copyLike, python: "Python torch.load + torch.save" }),
    row("weightbridge pth → onnx (external data)", main, out("onnx"), wb(main, out("onnx"), "--external-data"), copyLike),
    row("weightbridge pth → keras-h5", main, out("h5"), wb(main, out("h5"), "--to", "keras-h5"), { ref: st, refName: "→ safetensors", target: 1.5 }),
    row("weightbridge pth → safetensors --dtype bfloat16", main, out("safetensors"), wb(main, out("safetensors"), "--dtype", "bfloat16"), {
      ref: st,
      refName: "→ safetensors",
      target: 1.5,
    }),
  ];
  if (flag("workers"))
    rows.push(row("  same, casts in 1 worker thread", main, out("safetensors"), withWorkers(1, wb(main, out("safetensors"), "--dtype", "bfloat16"))));
  sections.push(table(`${mainGB} GB float32 checkpoint (bench/data/main.pth, 361 tensors)`, benchSection(rows), size));
}

function transformerCases() {
  const tr = ensure("transformer");
  const size = statSync(tr).size;
  const gb = (size / 1e9).toFixed(2);
  console.error(`bench: ${tr} (${gb} GB), ${runs} alternating run(s) per row`);
  const plain = "weightbridge pth → pdparams (no mapping)";
  const pyT = "Python torch.load + .T + pickle .pdparams";
  const rows = [
    ...floorRows(tr),
    row(pyT, tr, out("pdparams"), py("torch2paddle", tr, out("pdparams"))),
    row(plain, tr, out("pdparams"), wb(tr, out("pdparams")), { floorTarget: 1.3 }),
  ];
  if (hasMap)
    rows.push(
      row("weightbridge --map torch2paddle (transposes)", tr, out("pdparams"), wb(tr, out("pdparams"), "--map", "torch2paddle"), {
        ref: plain,
        refName: "no mapping",
        target: 1.5,
        python: pyT,
      }),
    );
  if (hasMap && flag("workers"))
    rows.push(
      row("  same, transposes in 1 worker thread", tr, out("pdparams"), withWorkers(1, wb(tr, out("pdparams"), "--map", "torch2paddle")), {
        ref: plain,
        refName: "no mapping",
      }),
    );
  sections.push(table(`${gb} GB transformer-shaped checkpoint, Linear weights transposed (bench/data/transformer.pth, 195 tensors)`, benchSection(rows), size));
}

if (big) {
  const input = ensure("big");
  const size = statSync(input).size;
  const gb = (size / 1e9).toFixed(2);
  console.error(`bench: ${input} (${gb} GB)`);
  const rows = benchSection([
    ...floorRows(input),
    row("weightbridge pth → safetensors", input, out("safetensors"), wb(input, out("safetensors")), { floorTarget: 1.3 }),
    ...(hasPaddle ? [row("weightbridge pth → pdparams", input, out("pdparams"), wb(input, out("pdparams")), { floorTarget: 1.3 })] : []),
  ]);
  // Keep the >4 GiB zip output for the ZIP64 check by torch and zipfile.
  scrub(out("pth"));
  prepare(input);
  const load = loadNow();
  const m = measure(wb(input, out("pth")));
  rows.push({ label: "weightbridge pth → pth (ZIP64), one run", ...m, loads: [load, load], floorTarget: 1.3 });
  console.error(`  checking ${out("pth")} (${(statSync(out("pth")).size / 2 ** 30).toFixed(2)} GiB) with zipfile and torch.load ...`);
  const check = spawnSync(python, [join(here, "baselines.py"), "check-zip64", input, out("pth")], { encoding: "utf8" });
  scrub(out("pth"));
  const verdict =
    check.status === 0
      ? check.stdout
          .trim()
          .split("\n")
          .map((l) => `- ${l}`)
          .join("\n")
      : `- ZIP64 CHECK FAILED: ${check.stderr.trim().split("\n").pop()}`;
  const worst = Math.max(...rows.filter((r) => r.label.startsWith("weightbridge")).map((r) => r.rss));
  sections.push(
    `${table(`${gb} GB checkpoint, one 2.3 GB tensor (bench/data/big.pth)`, rows, size)}\n\n${verdict}\n- peak RSS ${worst.toFixed(0)} MiB: ${worst < 1024 ? "under" : "OVER"} 1 GiB`,
  );
}

const text = `## Run of ${new Date().toISOString()}\n\n${machine()}\n\n${sections.join("\n\n")}\n`;
writeFileSync(report, text);
console.log(text);
console.error(`bench: written to ${report}`);
