#!/usr/bin/env node
// Many tiny tensors (mixture-of-experts checkpoints hold ~10^5): safetensors → .pt and a TF
// checkpoint → .pt must take time linear in the tensor count. Generates a safetensors file of
// N float32[2] tensors (bench/data/many-N.safetensors), converts it with the built CLI to .pt and
// to a TF checkpoint, then that checkpoint to .pt, and prints wall time, time per tensor and peak
// RSS per row. Usage: node bench/many-tensors.mjs [N ...]  (default 100000 1000000)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, rmSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const cli = join(root, "dist/cli/main.js");
const data = join(root, "bench/data");
const counts = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (counts.length === 0) counts.push(100_000, 1_000_000);
mkdirSync(data, { recursive: true });

function generate(n, path) {
  if (existsSync(path)) return;
  const header = { __metadata__: { format: "pt" } };
  for (let i = 0; i < n; i++) header[`experts.${i >> 6}.w${i & 63}`] = { dtype: "F32", shape: [2], data_offsets: [8 * i, 8 * i + 8] };
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const fd = openSync(path, "w");
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, size);
  writeSync(fd, json);
  const body = Buffer.alloc(8 * n);
  for (let i = 0; i < 2 * n; i++) body.writeFloatLE(i, 4 * i);
  writeSync(fd, body);
  closeSync(fd);
}

/** Runs the CLI under /usr/bin/time when present: wall and CPU (user + system) seconds, peak RSS (MiB). */
function run(args) {
  const time = existsSync("/usr/bin/time");
  const started = process.hrtime.bigint();
  const r = spawnSync(time ? "/usr/bin/time" : process.execPath, time ? ["-f", "%M %U %S", process.execPath, cli, ...args] : [cli, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  const [rssKiB, user, system] = time ? r.stderr.trim().split("\n").pop().split(" ").map(Number) : [NaN, NaN, NaN];
  return { wall, cpu: user + system, rss: rssKiB / 1024 };
}

// CPU time is what scales with the work; wall time also counts waiting for a loaded machine.
console.log("| tensors | conversion | wall (s) | CPU (s) | CPU µs per tensor | peak RSS (MiB) |");
console.log("|---:|---|---:|---:|---:|---:|");
for (const n of counts) {
  const input = join(data, `many-${n}.safetensors`);
  generate(n, input);
  const out = join(data, `many-${n}-out`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  const rows = [
    ["safetensors → pt", [input, join(out, "a.pt")]],
    ["safetensors → TF checkpoint", [input, join(out, "ckpt.index")]],
    ["TF checkpoint → pt", [join(out, "ckpt.index"), join(out, "b.pt")]],
  ];
  for (const [label, args] of rows) {
    const { wall, cpu, rss } = run(["convert", ...args, "--quiet"]);
    console.log(`| ${n.toLocaleString("en-US")} | ${label} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${((cpu / n) * 1e6).toFixed(1)} | ${rss.toFixed(0)} |`);
  }
  rmSync(out, { recursive: true, force: true });
}
