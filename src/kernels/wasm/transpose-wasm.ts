import { batchedTranspose, forEachBatch, type NormalPermutation } from "../permute-plan.js";
import { LAYOUT_KERNEL_BLOCKS } from "./layout-kernels-bytes.js";
import { kernelMemory, layoutKernels, transposeKernel, type Transpose } from "./layout-wasm.js";

// Permutations in WebAssembly. The kernels only see their own memory, so a tensor goes through it
// in bands, each one contiguous on one side and runs on the other: bands of the input's outermost
// axis go in with one copy and come out as the runs of the output they fill, bands of the output's
// outermost axis are gathered from runs of the input and go out with one copy. Whichever side
// gives the longer runs is used (a Linear weight's transpose: the one of its smaller dimension), so
// bands can stay small: they bound the memory the kernels keep.

/**
 * Bytes per band (the kernels' memory holds one band in and one out, so up to twice this stays
 * resident), and the side to cut (tests and bench/kernels.mjs set these). 4 MiB bands were as fast
 * as 12 MiB ones on Linear weights with a third of the memory and of its first-use faults; conv
 * kernels whose runs they cut under 2 KiB (512×512×3×3) go to the JS kernel (bench/RESULTS.md).
 */
export const WASM_BANDS: { bytes: number; side: "input" | "output" | "auto" } = { bytes: 4 << 20, side: "auto" };
/** Bands whose runs are shorter than this are left to the JS kernel: 1.3 KiB runs measured slower, 3 KiB ones faster. */
const MIN_RUN_BYTES = 2048;
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

export function tileFor(size: number): { rows: number; cols: number } {
  const block = LAYOUT_KERNEL_BLOCKS[size]!;
  const whole = (n: number) => Math.max(block, Math.ceil(n / block) * block);
  const tile = WASM_TILES[size]!;
  return { rows: whole(tile.rows), cols: whole(tile.cols) };
}

function kernelFor(size: number): Transpose | undefined {
  const k = layoutKernels();
  return k && transposeKernel(k, size);
}

/** How one side of a permutation cuts into bands: along its outermost axis, of `size` indices. */
interface Cut {
  axis: number; // input axis
  size: number;
  /** Bytes per index of the band axis. */
  rowBytes: number;
  /** Elements after the band axis on the other side, where each band index fills a run of them. */
  inner: number;
  band: number;
  /** Runs per band on the other side (1 when one band holds everything). */
  runs: number;
}

function cut(p: NormalPermutation, total: number, side: "input" | "output"): Cut {
  const { shape, perm } = p;
  const axis = side === "input" ? 0 : perm[0]!;
  const size = shape[axis]!;
  const rowBytes = total / size;
  let inner = 1;
  if (side === "input") for (let i = perm.indexOf(0) + 1; i < perm.length; i++) inner *= shape[perm[i]!]!;
  else for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  const band = Math.min(size, Math.max(1, Math.floor(WASM_BANDS.bytes / rowBytes)));
  const runs = band === size ? 1 : rowBytes / p.elementSize / inner;
  return { axis, size, rowBytes, inner, band, runs };
}

/** Bytes of one run: what each copy on the strided side moves. */
const runBytes = (c: Cut, elementSize: number) => (c.runs === 1 ? c.band * c.rowBytes : c.band * c.inner * elementSize);

/**
 * Writes the permutation of `src` into `dst` and returns true, or returns false without touching
 * `dst` when WebAssembly is unavailable or this shape is better left to the JS kernel.
 */
export function transposeWasm(src: Uint8Array, dst: Uint8Array, p: NormalPermutation): boolean {
  const size = p.elementSize;
  const kernel = kernelFor(size);
  if (!kernel || p.shape.length < 2) return false;
  if (src.byteLength === 0) return true;
  const byInput = cut(p, src.byteLength, "input");
  const byOutput = cut(p, src.byteLength, "output");
  const side = WASM_BANDS.side !== "auto" ? WASM_BANDS.side : runBytes(byOutput, size) > runBytes(byInput, size) ? "output" : "input";
  const c = side === "input" ? byInput : byOutput;
  if (c.band * c.rowBytes > 2 * WASM_BANDS.bytes || (c.runs > 1 && runBytes(c, size) < MIN_RUN_BYTES)) return false;
  const bandBytes = c.band * c.rowBytes;
  const memory = kernelMemory(layoutKernels()!, 2 * bandBytes);
  if (!memory) return false;
  const out = bandBytes;
  const tile = tileFor(size);
  for (let first = 0; first < c.size; first += c.band) {
    const count = Math.min(c.band, c.size - first);
    const run = (count * c.rowBytes) / c.runs;
    // In: the band, contiguous in the input or gathered from its runs.
    if (side === "input") memory.set(src.subarray(first * c.rowBytes, (first + count) * c.rowBytes), 0);
    else {
      for (let r = 0; r < c.runs; r++) {
        const from = (r * c.size + first) * c.inner * size;
        memory.set(src.subarray(from, from + run), r * run);
      }
    }
    const bandShape = p.shape.map((n, axis) => (axis === c.axis ? count : n));
    const plan = batchedTranspose(bandShape, p.perm);
    forEachBatch(plan, (s, d) => kernel(s * size, out + d * size, plan.rows, plan.cols, plan.srcStride, plan.dstStride, tile.rows, tile.cols));
    // Out: the runs of the output this band fills, or one contiguous piece of it.
    if (side === "output") dst.set(memory.subarray(out, out + count * c.rowBytes), first * c.rowBytes);
    else {
      for (let r = 0; r < c.runs; r++) {
        const from = out + r * run;
        dst.set(memory.subarray(from, from + run), (r * c.size + first) * c.inner * size);
      }
    }
  }
  return true;
}
