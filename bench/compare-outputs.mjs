#!/usr/bin/env node
// Byte-identity of two builds: runs the same matrix of `convert` commands (every model fixture to
// every writable format, and the mapping presets that apply) with two CLIs and compares exit codes
// and every output byte for byte. A difference is re-checked by running the first CLI again: an
// output that differs between two runs of the same build is reported as nondeterministic, not as
// a difference between the builds.
//
//   node bench/compare-outputs.mjs OLD/dist/cli/main.js NEW/dist/cli/main.js [--only REGEX] [--jobs N]
//
// Conversions run N at a time (default 2); each case's two builds run side by side. Each CLI must
// sit in its built tree (TREE/dist/cli/main.js: it reads TREE/schemas). A build older than a format
// (gguf, tflite before this wave) refuses its files: those rows show as differences by design.
// Old tree: git worktree add /tmp/wb-old COMMIT; ln -s $PWD/node_modules /tmp/wb-old/; (cd /tmp/wb-old && npm run build)

import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const [oldCli, newCli, ...rest] = process.argv.slice(2);
if (!oldCli || !newCli) {
  console.error("usage: node bench/compare-outputs.mjs OLD_CLI NEW_CLI [--only REGEX]");
  process.exit(1);
}
const flag = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const only = flag("--only") ? new RegExp(flag("--only")) : undefined;
const jobs = Number(flag("--jobs") ?? 2);

/** Model fixtures by source family (hostile and fuzz corpora are not models). */
const SOURCES = [
  ["pytorch", /^fixtures\/pytorch\/(?!hostile).*\.(pt|pth)$/],
  ["keras", /^fixtures\/keras\/.*\.(h5|keras)$/],
  ["paddle", /^fixtures\/paddle\/.*\.pdparams$/],
  ["paddle", /^fixtures\/paddle\/.*\.pdmodel$/],
  ["onnx", /^fixtures\/onnx\/.*\.onnx$/],
  ["tensorflow", /^fixtures\/tensorflow\/[^/]+\/[^/]*\.index$/],
  ["safetensors", /^fixtures\/.*\.safetensors$/],
  ["tflite", /^fixtures\/tflite\/real\/.*\.tflite$/],
  ["gguf", /^fixtures\/gguf\/(tiny-llama|metadata)\.gguf$/],
];

/** Every writable format, by the output name that selects it. */
const TARGETS = [
  ["safetensors", "out.safetensors", []],
  ["keras-h5", "out.h5", []],
  ["keras", "out.weights.h5", []],
  ["pytorch", "out.pt", []],
  ["paddle", "out.pdparams", []],
  ["tf-checkpoint", "out.index", ["--to", "tf-checkpoint"]],
  ["onnx", "out.onnx", []],
];

/** Presets, by the source family they read. */
const PRESETS = {
  pytorch: [
    ["torch2keras", "out.h5"],
    ["torch2paddle", "out.pdparams"],
  ],
  keras: [
    ["keras2torch", "out.pt"],
    ["keras2paddle", "out.pdparams"],
  ],
  paddle: [
    ["paddle2torch", "out.pt"],
    ["paddle2keras", "out.h5"],
  ],
  onnx: [["onnx2torch", "out.pt"]],
  tensorflow: [["keras2torch", "out.pt"]],
};

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

function inputs() {
  const files = walk(join(ROOT, "fixtures"))
    .map((f) => relative(ROOT, f))
    .sort();
  return files.flatMap((f) => SOURCES.filter(([, re]) => re.test(f)).map(([family]) => ({ file: f, family })));
}

function cases() {
  const out = [];
  for (const { file, family } of inputs()) {
    for (const [id, name, args] of TARGETS) out.push({ label: `${file} → ${id}`, file, name, args });
    for (const [preset, name] of PRESETS[family] ?? []) out.push({ label: `${file} → ${preset}`, file, name, args: ["--map", preset] });
  }
  return only ? out.filter((c) => only.test(c.label)) : out;
}

function run(cli, c, dir) {
  const args = [cli, "convert", join(ROOT, c.file), join(dir, c.name), "-q", "--no-progress", ...c.args];
  return new Promise((done) => {
    execFile(process.execPath, args, { timeout: 300_000, maxBuffer: 16 << 20 }, (e) => done(e ? (typeof e.code === "number" ? e.code : -1) : 0));
  });
}

/** Every file a run wrote, by its name relative to the run's folder. */
function outputs(dir) {
  return new Map(walk(dir).map((f) => [relative(dir, f), readFileSync(f)]));
}

// HDF5 files whose bytes differ between two runs of one build: the same groups, datasets (dtype,
// shape, values) and attributes, read by h5py. Undefined when h5py is not there.
const SAME_HDF5 = String.raw`
import sys, h5py, numpy as np
def same(x, y):
    if set(x.attrs) != set(y.attrs) or any(not np.array_equal(np.asarray(x.attrs[k]), np.asarray(y.attrs[k])) for k in x.attrs): return False
    if isinstance(x, h5py.Dataset):
        return isinstance(y, h5py.Dataset) and x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x[()], y[()])
    return isinstance(y, h5py.Group) and set(x) == set(y) and all(same(x[k], y[k]) for k in x)
sys.exit(0 if same(h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")) else 1)
`;

function sameHdf5Content(a, b) {
  try {
    execFileSync(process.env.PYTHON ?? "/usr/bin/python3", ["-c", SAME_HDF5, a, b], { stdio: "ignore" });
    return true;
  } catch (e) {
    return e.status === 1 ? false : undefined;
  }
}

/** Every output is an HDF5 file whose content (not layout) is the same in both folders. */
function sameHdf5Outputs(dirA, dirB, a, b) {
  if (a.size !== b.size || a.size === 0) return false;
  return [...a.keys()].every((name) => b.has(name) && /\.(h5|hdf5)$/.test(name) && sameHdf5Content(join(dirA, name), join(dirB, name)) === true);
}

function sameOutputs(a, b) {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) if (!b.get(name)?.equals(bytes)) return false;
  return true;
}

const all = cases();
let compared = 0;
let sameContent = 0;
let refusedBoth = 0;
const differences = [];
const nondeterministic = [];
async function compare(c) {
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), "wb-cmp-")));
  try {
    const [oldCode, newCode] = await Promise.all([run(oldCli, c, dirs[0]), run(newCli, c, dirs[1])]);
    const [oldOut, newOut] = [outputs(dirs[0]), outputs(dirs[1])];
    if (oldCode !== 0 && newCode !== 0 && oldCode === newCode) {
      refusedBoth++;
      return;
    }
    if (oldCode === newCode && sameOutputs(oldOut, newOut)) {
      compared += oldOut.size;
      return;
    }
    const againCode = await run(oldCli, c, dirs[2]);
    if (againCode === oldCode && !sameOutputs(oldOut, outputs(dirs[2]))) {
      if (oldCode === newCode && sameHdf5Outputs(dirs[0], dirs[1], oldOut, newOut)) sameContent += oldOut.size;
      else nondeterministic.push(c.label);
    } else {
      const line = `${c.label}: exit ${oldCode} → ${newCode}, files ${[...oldOut.keys()].join(",")} → ${[...newOut.keys()].join(",")}`;
      differences.push(line);
      console.error(`differs: ${line}`);
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

let next = 0;
let done = 0;
await Promise.all(
  Array.from({ length: Math.max(1, jobs) }, async () => {
    while (next < all.length) {
      const c = all[next++];
      await compare(c);
      if (++done % 10 === 0) console.error(`${done}/${all.length}: ${compared} files identical, ${refusedBoth} refused by both, ${differences.length} differ`);
    }
  }),
);

const sizeOf = (f) => statSync(join(ROOT, f)).size;
console.log(`${all.length} conversions over ${new Set(all.map((c) => c.file)).size} fixtures (${all.reduce((n, c) => n + sizeOf(c.file), 0)} input bytes)`);
console.log(`${compared} output files byte-identical; ${refusedBoth} conversions refused by both builds with the same exit code`);
console.log(
  `${sameContent} HDF5 output files whose bytes change from run to run (in either build) with identical content (h5py: groups, datasets, attributes)`,
);
console.log(
  `${nondeterministic.length} nondeterministic (differ between two runs of the first build)${nondeterministic.length ? `: ${nondeterministic.join("; ")}` : ""}`,
);
console.log(`${differences.length} differences${differences.length ? ":" : ""}`);
for (const d of differences) console.log(`  ${d}`);
process.exit(differences.length ? 1 : 0);
