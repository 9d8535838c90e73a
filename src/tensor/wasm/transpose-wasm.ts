import { batchedTranspose, forEachBatch, type NormalPermutation } from "../permute-plan.js";
import { LAYOUT_KERNEL_BLOCKS } from "./layout-kernels-bytes.js";
import { kernelMemory, layoutKernels, type Transpose } from "./layout-wasm.js";

// Permutations in WebAssembly. The kernels only see their own memory, so the input goes in as
// bands of its outermost axis (one contiguous copy each), is transposed there, and comes back out
// as the runs of the output that band fills: whole rows of a Linear weight's transpose, or the
// output's innermost runs for a conv kernel. Bands bound the memory the kernels keep.

/**
 * Input bytes per band (the kernels' memory holds one band in and one out, so up to twice this stays
 * resident); settable for bench/kernels.mjs. 12 MiB holds a BERT-base Linear weight whole: smaller
 * bands measured slower than the JS kernel there, the output runs each band fills being short.
 */
export const WASM_BANDS = { bytes: 12 << 20 };
/** A band whose output runs are shorter than this is left to the JS kernel (per-run copies would dominate). */
const MIN_RUN_BYTES = 512;
/**
 * Tile rows × columns in elements per element size, from a sweep of the kernels (bench/RESULTS.md);
 * rounded up to whole kernel blocks when used.
 */
export const WASM_TILES: Record<number, { rows: number; cols: number }> = {
  1: { rows: 128, cols: 32 },
  2: { rows: 128, cols: 16 },
  4: { rows: 256, cols: 16 },
  8: { rows: 256, cols: 8 },
};

function tileFor(size: number): { rows: number; cols: number } {
  const block = LAYOUT_KERNEL_BLOCKS[size]!;
  const whole = (n: number) => Math.max(block, Math.ceil(n / block) * block);
  const tile = WASM_TILES[size]!;
  return { rows: whole(tile.rows), cols: whole(tile.cols) };
}

function kernelFor(size: number): Transpose | undefined {
  const k = layoutKernels();
  if (!k) return undefined;
  return size === 1 ? k.transpose8 : size === 2 ? k.transpose16 : size === 4 ? k.transpose32 : size === 8 ? k.transpose64 : undefined;
}

/**
 * Writes the permutation of `src` into `dst` and returns true, or returns false without touching
 * `dst` when WebAssembly is unavailable or this shape is better left to the JS kernel.
 */
export function transposeWasm(src: Uint8Array, dst: Uint8Array, p: NormalPermutation): boolean {
  const size = p.elementSize;
  const kernel = kernelFor(size);
  if (!kernel || p.shape.length < 2) return false;
  if (src.byteLength === 0) return true;
  const { shape, perm } = p;
  const outer = shape[0]!;
  const rowBytes = src.byteLength / outer;
  // Output elements after input axis 0 in the output order: each band fills runs of band·inner.
  const at = perm.indexOf(0);
  let inner = 1;
  for (let i = at + 1; i < perm.length; i++) inner *= shape[perm[i]!]!;
  const band = Math.min(outer, Math.max(1, Math.floor(WASM_BANDS.bytes / rowBytes)));
  // One band holding the whole input fills the whole output: one copy out instead of one per run.
  const runs = band === outer ? 1 : rowBytes / size / inner;
  if (band * rowBytes > 2 * WASM_BANDS.bytes || (runs > 1 && band * inner * size < MIN_RUN_BYTES)) return false;
  const bandBytes = band * rowBytes;
  const out = bandBytes;
  const memory = kernelMemory(layoutKernels()!, 2 * bandBytes);
  if (!memory) return false;
  const tile = tileFor(size);
  for (let first = 0; first < outer; first += band) {
    const count = Math.min(band, outer - first);
    memory.set(src.subarray(first * rowBytes, (first + count) * rowBytes), 0);
    const plan = batchedTranspose([count, ...shape.slice(1)], perm);
    forEachBatch(plan, (s, d) => kernel(s * size, out + d * size, plan.rows, plan.cols, plan.srcStride, plan.dstStride, tile.rows, tile.cols));
    const run = (count * rowBytes) / runs;
    for (let r = 0; r < runs; r++) {
      const from = out + r * run;
      dst.set(memory.subarray(from, from + run), (r * outer + first) * inner * size);
    }
  }
  return true;
}
