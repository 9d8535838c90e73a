#!/usr/bin/env node
// Keras → runnable ONNX graph on a 100-million-parameter model: `node bench/keras-graph.mjs [--runs N] [--no-check]`.
// Generates (cached in bench/data/) a model.save-style .h5 of 10 Dense layers 3162×3162 with
// h5py, then times `convert big.h5 big.onnx` (the graph, whole-model check included unless
// --no-check) against `--weights-only`, printing wall and CPU time and the child's peak RSS. Timings
// live here, never in tests.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, "data");
const cli = join(here, "..", "dist", "cli", "main.js");
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf("--runs") + 1] ?? 1) || 1;
const input = join(data, "keras-100m.h5");
const LAYERS = 10;
const WIDTH = 3162;

const MAKE = String.raw`
import h5py, json, numpy as np, sys
layers = [{"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [None, ${WIDTH}]}}]
layers += [{"class_name": "Dense", "config": {"name": f"dense_{i}", "units": ${WIDTH}, "activation": "tanh"}} for i in range(${LAYERS})]
config = {"class_name": "Sequential", "config": {"name": "big", "layers": layers}}
rng = np.random.default_rng(0)
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["model_config"] = json.dumps(config)
    f.attrs["keras_version"] = "2.15.0"
    f.attrs["backend"] = "tensorflow"
    w = f.create_group("model_weights")
    w.attrs["layer_names"] = np.array([f"dense_{i}".encode() for i in range(${LAYERS})])
    for i in range(${LAYERS}):
        g = w.create_group(f"dense_{i}")
        g.attrs["weight_names"] = np.array([f"dense_{i}/kernel:0".encode(), f"dense_{i}/bias:0".encode()])
        s = g.create_group(f"dense_{i}")
        s["kernel:0"] = (rng.standard_normal((${WIDTH}, ${WIDTH}), dtype=np.float32) / ${WIDTH ** 0.5}).astype(np.float32)
        s["bias:0"] = np.zeros(${WIDTH}, np.float32)
`;

mkdirSync(data, { recursive: true });
if (!existsSync(input)) {
  const made = spawnSync("/usr/bin/python3", ["-c", MAKE, input], { stdio: "inherit" });
  if (made.status !== 0) process.exit(1);
}

function time(label, args) {
  const out = join(data, `keras-100m-${label}.onnx`);
  const samples = [];
  for (let i = 0; i < runs; i++) {
    rmSync(out, { force: true });
    const start = process.hrtime.bigint();
    const r = spawnSync("/usr/bin/time", ["-f", "%M %U %S", process.execPath, cli, "convert", input, out, "-q", ...args], { encoding: "utf8" });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
    const [rssKiB, user, system] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
    samples.push({ seconds, rssMiB: rssKiB / 1024, cpu: user + system });
  }
  const best = samples.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const rss = Math.max(...samples.map((s) => s.rssMiB)).toFixed(0);
  console.log(`${label.padEnd(14)} ${best.seconds.toFixed(2)} s wall  ${best.cpu.toFixed(2)} s CPU  peak RSS ${rss} MiB`);
  return best;
}

const weights = time("weights-only", ["--weights-only"]);
const graph = time("graph", argv.includes("--no-check") ? ["--no-verify"] : []);
console.log(`graph / weights-only: ${(graph.seconds / weights.seconds).toFixed(2)}× wall, ${(graph.cpu / weights.cpu).toFixed(2)}× CPU`);
