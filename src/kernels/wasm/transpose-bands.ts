import { normalizePermutation } from "../permute-plan.js";
import type { TensorData } from "../../tensor/tensor.js";
import { LAYOUT_KERNEL_BLOCKS } from "./layout-kernels-bytes.js";
import { kernelMemory, privateLayoutKernels, transposeKernel, type LayoutExports } from "./layout-wasm.js";
import { tileFor } from "./transpose-wasm.js";

// A 2-D transpose (a Linear weight's) streamed to its writer in bands of output rows, straight
// from the kernels' memory: the input is read into that memory once, each band is transposed into
// a small window there and written out while it is still in cache. No whole-tensor output buffer
// is ever made, and no copy into or out of the kernels' memory beyond the input's read.

/** Output bytes per band: small enough to stay in cache until the writer has copied it out. */
const BAND_BYTES = 256 << 10;
/** Bigger inputs take the whole-tensor path, so the kernels' memory (it never shrinks) stays bounded. */
const MAX_INPUT_BYTES = 64 << 20;

export interface BandedTranspose {
  /** Input rows and columns, in elements; the output is cols × rows. */
  rows: number;
  cols: number;
  elementSize: number;
}

/** The plan when `perm` of `shape` is one plain 2-D transpose of 1/2/4/8-byte elements, small enough to band. */
export function bandedTransposePlan(shape: readonly number[], perm: readonly number[], elementSize: number): BandedTranspose | undefined {
  const p = normalizePermutation(shape, perm, elementSize);
  if (p.shape.length !== 2 || p.perm[0] !== 1 || !(p.elementSize in LAYOUT_KERNEL_BLOCKS)) return undefined;
  const [rows, cols] = p.shape as [number, number];
  if (rows * cols * p.elementSize > MAX_INPUT_BYTES) return undefined;
  return { rows, cols, elementSize: p.elementSize };
}

let instance: LayoutExports | null | undefined;
let busy = false;

/**
 * The transposed bytes in bands; `otherwise` gives them when the banded path cannot run (no
 * WebAssembly, or another banded transpose is still streaming, since there is one window for
 * them). A band is valid only until the next one is asked for, and at most `maxBytes` long.
 */
export async function* transposeBands(
  input: TensorData,
  plan: BandedTranspose,
  maxBytes: number,
  otherwise: () => AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  if (instance === undefined) instance = privateLayoutKernels() ?? null;
  const { rows, cols, elementSize: size } = plan;
  const inBytes = rows * cols * size;
  const rowBytes = rows * size; // one output row
  const block = LAYOUT_KERNEL_BLOCKS[size]!;
  const perBand = Math.max(1, Math.floor(BAND_BYTES / rowBytes / block)) * block;
  const memory = busy || !instance ? undefined : kernelMemory(instance, inBytes + Math.min(cols, perBand) * rowBytes);
  if (!memory) {
    yield* otherwise();
    return;
  }
  busy = true;
  try {
    const kernel = transposeKernel(instance!, size)!;
    const tile = tileFor(size);
    if (input.readInto) await input.readInto(memory.subarray(0, inBytes));
    else memory.set(await input.read(), 0);
    for (let first = 0; first < cols; first += perBand) {
      const count = Math.min(perBand, cols - first);
      // Output rows first..first+count are input columns first..first+count, read with the input's row stride.
      kernel(first * size, inBytes, rows, count, cols, rows, tile.rows, tile.cols);
      const end = inBytes + count * rowBytes;
      for (let at = inBytes; at < end; at += maxBytes) yield memory.subarray(at, Math.min(end, at + maxBytes));
    }
  } finally {
    busy = false;
  }
}
