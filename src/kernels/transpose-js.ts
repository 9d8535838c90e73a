import { type BatchedTranspose, forEachBatch } from "./permute-plan.js";

// The JavaScript transpose kernel: elements moved as whole 1/2/4-byte words, never as numbers, so
// every bit pattern (NaN payloads, bfloat16, bool, complex) survives exactly.

type Words = Uint8Array | Uint16Array | Uint32Array;

/** Tile of rows × columns (elements) that keeps both sides of a transpose in L1/L2. */
export const JS_TILE = { rows: 64, cols: 64 };

/** The widest word (4, 2 or 1 bytes) dividing the element size and both buffers' offsets. */
function wordSize(elementSize: number, src: Uint8Array, dst: Uint8Array): number {
  for (const w of [4, 2]) {
    if (elementSize % w === 0 && src.byteOffset % w === 0 && dst.byteOffset % w === 0) return w;
  }
  return 1;
}

function view(bytes: Uint8Array, word: number): Words {
  if (word === 4) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (word === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return bytes;
}

/** Runs a batched transpose of `elementSize`-byte elements from `src` into `dst` (same length, not overlapping). */
export function transposeJs(src: Uint8Array, dst: Uint8Array, plan: BatchedTranspose, elementSize: number): void {
  const word = wordSize(elementSize, src, dst);
  const s = view(src, word);
  const d = view(dst, word);
  const w = elementSize / word;
  const { rows, cols, srcStride, dstStride } = plan;
  forEachBatch(plan, (srcBase, dstBase) => {
    if (w === 1) transposeWords(s, d, srcBase, dstBase, rows, cols, srcStride, dstStride);
    else transposeWide(s, d, srcBase * w, dstBase * w, rows, cols, srcStride, dstStride, w);
  });
}

/** One element per word: tiles, four source rows per pass so each column step writes four neighbours. */
function transposeWords(s: Words, d: Words, src: number, dst: number, rows: number, cols: number, ss: number, ds: number): void {
  const tileRows = JS_TILE.rows;
  const tileCols = JS_TILE.cols;
  for (let r0 = 0; r0 < rows; r0 += tileRows) {
    const r1 = Math.min(r0 + tileRows, rows);
    const r4 = r0 + ((r1 - r0) & ~3);
    for (let c0 = 0; c0 < cols; c0 += tileCols) {
      const c1 = Math.min(c0 + tileCols, cols);
      let r = r0;
      for (; r < r4; r += 4) {
        let from = src + r * ss + c0;
        let to = dst + c0 * ds + r;
        for (let c = c0; c < c1; c++, from++, to += ds) {
          d[to] = s[from]!;
          d[to + 1] = s[from + ss]!;
          d[to + 2] = s[from + 2 * ss]!;
          d[to + 3] = s[from + 3 * ss]!;
        }
      }
      for (; r < r1; r++) {
        let from = src + r * ss + c0;
        let to = dst + c0 * ds + r;
        for (let c = c0; c < c1; c++, from++, to += ds) d[to] = s[from]!;
      }
    }
  }
}

/** From this many words an element is copied with one set() (whole rows that a permutation keeps together). */
const LONG_ELEMENT_WORDS = 32;

/** Elements of `w` words (float64, int64, complex, folded rows): each element's words stay together. */
function transposeWide(s: Words, d: Words, src: number, dst: number, rows: number, cols: number, ss: number, ds: number, w: number): void {
  const tileRows = JS_TILE.rows;
  const tileCols = JS_TILE.cols;
  for (let r0 = 0; r0 < rows; r0 += tileRows) {
    const r1 = Math.min(r0 + tileRows, rows);
    for (let c0 = 0; c0 < cols; c0 += tileCols) {
      const c1 = Math.min(c0 + tileCols, cols);
      for (let r = r0; r < r1; r++) {
        let from = src + (r * ss + c0) * w;
        let to = dst + (c0 * ds + r) * w;
        for (let c = c0; c < c1; c++, from += w, to += ds * w) {
          if (w >= LONG_ELEMENT_WORDS) d.set(s.subarray(from, from + w), to);
          else for (let k = 0; k < w; k++) d[to + k] = s[from + k]!;
        }
      }
    }
  }
}
