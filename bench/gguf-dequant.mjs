// Dequantizing a Q4_K GGUF into float16 safetensors, beside copying a file of the output's size
// (the yardstick: within 2x of cp + sync, as our sink fsyncs before its rename). Writes a
// GGUF of --mib MiB of random Q4_K blocks (finite scales) into a temporary folder (--dir), then
// runs, alternating, --runs times each with the page-cache policy of bench/run.mjs:
//   weightbridge convert in.gguf out.safetensors --dtype float16     and     cp out copy && sync copy
// printing median wall, user/sys CPU, peak RSS and the load average.
//   npm run build && node bench/gguf-dequant.mjs [--mib 1024] [--runs 3] [--dir /tmp]
// WEIGHTBRIDGE_WASM=0 in the environment measures the JavaScript decoders instead.
// Not a test: nothing here asserts a time.
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, writeSync, closeSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadNow, measure, prepare } from "./measure.mjs";

const { values: args } = parseArgs({
  options: { mib: { type: "string", default: "1024" }, runs: { type: "string", default: "3" }, dir: { type: "string", default: tmpdir() } },
});
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(args.dir, "wb-bench-gguf-"));
const input = join(dir, "in.gguf");

const BLOCK = 144,
  VALUES = 256,
  COLUMNS = 4096;
const rows = Math.max(1, Math.floor((Number(args.mib) * 2 ** 20) / ((COLUMNS / VALUES) * BLOCK)));
const rowBytes = (COLUMNS / VALUES) * BLOCK;

function header() {
  const parts = [];
  const u32 = (v) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const u64 = (v) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  const str = (s) => {
    u64(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  parts.push(Buffer.from("GGUF"));
  u32(3);
  u64(1);
  u64(1);
  str("general.architecture");
  u32(8);
  str("llama");
  str("blk.0.ffn_up.weight");
  u32(2);
  u64(COLUMNS);
  u64(rows);
  u32(12);
  u64(0);
  const head = Buffer.concat(parts);
  return Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
}

const fd = openSync(input, "w");
writeSync(fd, header());
const chunkRows = 256;
const chunk = Buffer.alloc(chunkRows * rowBytes);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
for (let b = 0; b < chunk.length; b += BLOCK) {
  chunk.writeUInt16LE(0x2000, b);
  chunk.writeUInt16LE(0x1c00, b + 2);
}
for (let r = 0; r < rows; r += chunkRows) writeSync(fd, chunk, 0, Math.min(chunkRows, rows - r) * rowBytes);
closeSync(fd);

const output = join(dir, "out.safetensors");
const copy = join(dir, "copy.bin");
const usage = join(dir, ".rusage");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const benchRows = {
  convert: { input, command: [process.execPath, cli, "convert", input, output, "--dtype", "float16", "--force", "-q"], runs: [] },
  "cp + sync": { input: output, command: ["sh", "-c", `cp "${output}" "${copy}" && sync "${copy}"`], runs: [] },
};
try {
  for (let run = 0; run < Number(args.runs); run++) {
    for (const row of Object.values(benchRows)) {
      rmSync(copy, { force: true });
      if (row.input === output && run === 0 && !statSync(output, { throwIfNoEntry: false })) execFileSync(process.execPath, benchRows.convert.command);
      prepare(row.input);
      row.runs.push({ ...measure(row.command, usage), load: loadNow() });
    }
  }
  const mb = (n) => (n / 2 ** 20).toFixed(0);
  console.log(`Q4_K ${mb(statSync(input).size)} MiB -> float16 safetensors ${mb(statSync(output).size)} MiB, ${args.runs} runs, medians`);
  const figures = {};
  for (const [label, row] of Object.entries(benchRows)) {
    const f = (key) => median(row.runs.map((r) => r[key]));
    figures[label] = f("seconds");
    const loads = row.runs.map((r) => r.load);
    console.log(
      `  ${label.padEnd(10)} ${f("seconds").toFixed(2)} s wall  ${f("user").toFixed(2)} u ${f("sys").toFixed(2)} s  peak RSS ${Math.max(...row.runs.map((r) => r.rss)).toFixed(0)} MiB` +
        `  load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}  [${row.runs.map((r) => r.seconds.toFixed(2)).join(" ")}]`,
    );
  }
  console.log(`  ratio convert / (cp + sync): ${(figures.convert / figures["cp + sync"]).toFixed(2)}x (target ≤ 2)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
