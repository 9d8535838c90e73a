// Dequantizing a Q4_K GGUF into float16 safetensors, beside copying a file of the output's size
// (the yardstick: within 2x the copy). Writes a GGUF of --mib MiB of random Q4_K blocks
// (finite scales) into a temporary folder, then times, best of --runs each:
//   weightbridge convert in.gguf out.safetensors --dtype float16     and     cp (the output size)
//   npm run build && node bench/gguf-dequant.mjs [--mib 256] [--runs 3]
// Not a test: nothing here asserts a time.
import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, writeSync, closeSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({ options: { mib: { type: "string", default: "256" }, runs: { type: "string", default: "3" } } });
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "wb-bench-gguf-"));
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

function best(run) {
  let min = Infinity;
  for (let i = 0; i < Number(args.runs); i++) {
    const t0 = performance.now();
    run();
    min = Math.min(min, performance.now() - t0);
  }
  return min / 1000;
}

const output = join(dir, "out.safetensors");
const convert = best(() => execFileSync(process.execPath, [cli, "convert", input, output, "--dtype", "float16", "--force", "-q"]));
const size = statSync(output).size;
const copy = best(() => execFileSync("cp", [output, join(dir, "copy.bin")]));
const mb = (n) => (n / 2 ** 20).toFixed(0);
console.log(
  `Q4_K ${mb(statSync(input).size)} MiB -> float16 safetensors ${mb(size)} MiB: convert ${convert.toFixed(2)} s, cp ${copy.toFixed(2)} s, ratio ${(convert / copy).toFixed(1)}x`,
);
rmSync(dir, { recursive: true, force: true });
