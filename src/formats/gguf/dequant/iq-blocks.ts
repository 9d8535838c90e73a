import { f32, halfAt, halfTable, type BlockDecoder } from "./half.js";
import { IQ1_S_GRID, IQ2_S_GRID, IQ2_XS_GRID, IQ2_XXS_GRID, IQ3_S_GRID, IQ3_XXS_GRID, KSIGNS } from "./iq-grids.js";

/*
 * The i-quants: groups of 4 or 8 values are rows of a fixed grid (iq-grids.ts), with a sign per
 * value and a scale per 16 or 32 values; decoded as gguf-py's numpy dequantizers compute them
 * (float32 at every step).
 */

const decoded = new Map<string, Int8Array>();
function grid(base64: string): Int8Array {
  let values = decoded.get(base64);
  if (!values) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    values = new Int8Array(bytes.buffer);
    decoded.set(base64, values);
  }
  return values;
}

let ksigns: Uint8Array | undefined;
function signs(): Uint8Array {
  ksigns ??= Uint8Array.from(atob(KSIGNS), (c) => c.charCodeAt(0));
  return ksigns;
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8);
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** Writes 8 values: grid row `row` times `scale`, negated where `signBits` has a bit set. */
function putRow(out: Float32Array, at: number, values: Int8Array, row: number, width: number, scale: number, signBits: number): void {
  for (let i = 0; i < width; i++) {
    const v = f32(scale * values[row * width + i]!);
    out[at + i] = (signBits >> i) & 1 ? -v : v;
  }
}

/** IQ2_XXS and IQ3_XXS: per 32 values a u32 of 4 sign indices (7 bits) and a 4-bit scale. */
function xxs(size: number, gridBase64: string, width: number, scaleFactor: number): BlockDecoder {
  return (blocks, out) => {
    const values = grid(gridBase64),
      ks = signs();
    for (let b = 0, o = 0; b < blocks.length; b += size, o += 256) {
      const d = halfAt(blocks, b);
      for (let ib = 0; ib < 8; ib++) {
        // IQ2_XXS: qs as (grid bytes u32, aux u32) pairs; IQ3_XXS: 64 grid bytes, then 8 aux u32.
        const aux = width === 8 ? u32(blocks, b + 2 + ib * 8 + 4) : u32(blocks, b + 2 + 64 + ib * 4);
        const rows = b + 2 + ib * 8;
        const scale = f32(f32(d * f32(0.5 + (aux >>> 28))) * scaleFactor);
        for (let k = 0; k < 4; k++) {
          const s = ks[(aux >>> (7 * k)) & 127]!;
          for (let r = 0; r < 8 / width; r++) {
            const row = blocks[rows + k * (8 / width) + r]!;
            putRow(out, o + ib * 32 + k * 8 + r * width, values, row, width, scale, s >> (r * width));
          }
        }
      }
    }
  };
}

export const decodeIQ2_XXS = xxs(66, IQ2_XXS_GRID, 8, 0.25);
export const decodeIQ3_XXS = xxs(98, IQ3_XXS_GRID, 4, 0.5);

/** 16 4-bit scales (two per byte) → d·(0.5+s)·0.25 for IQ2_XS and IQ2_S. */
function halfScales(blocks: Uint8Array, at: number, d: number, into: Float32Array): void {
  for (let j = 0; j < 16; j++) into[j] = f32(f32(d * f32(0.5 + ((blocks[at + (j >> 1)]! >> (4 * (j & 1))) & 15))) * 0.25);
}

export const decodeIQ2_XS: BlockDecoder = (blocks, out) => {
  const values = grid(IQ2_XS_GRID),
    ks = signs(),
    scales = new Float32Array(16);
  for (let b = 0, o = 0; b < blocks.length; b += 74, o += 256) {
    halfScales(blocks, b + 66, halfAt(blocks, b), scales);
    for (let g = 0; g < 32; g++) {
      const q = u16(blocks, b + 2 + g * 2);
      putRow(out, o + g * 8, values, q & 511, 8, scales[g >> 1]!, ks[q >> 9]!);
    }
  }
};

export const decodeIQ2_S: BlockDecoder = (blocks, out) => {
  const values = grid(IQ2_S_GRID),
    scales = new Float32Array(16);
  for (let b = 0, o = 0; b < blocks.length; b += 82, o += 256) {
    halfScales(blocks, b + 74, halfAt(blocks, b), scales);
    for (let g = 0; g < 32; g++) {
      const high = (blocks[b + 66 + (g >> 2)]! >> (2 * (g & 3))) & 3;
      putRow(out, o + g * 8, values, blocks[b + 2 + g]! | (high << 8), 8, scales[g >> 1]!, blocks[b + 34 + g]!);
    }
  }
};

export const decodeIQ3_S: BlockDecoder = (blocks, out) => {
  const values = grid(IQ3_S_GRID);
  for (let b = 0, o = 0; b < blocks.length; b += 110, o += 256) {
    const d = halfAt(blocks, b);
    for (let g = 0; g < 64; g++) {
      const scale = f32(d * (1 + 2 * ((blocks[b + 106 + (g >> 4)]! >> (4 * ((g >> 3) & 1))) & 15)));
      const row = blocks[b + 2 + g]! | (((blocks[b + 66 + (g >> 3)]! >> (g & 7)) & 1) << 8);
      const signBits = blocks[b + 74 + (g >> 1)]! >> (4 * (g & 1));
      putRow(out, o + g * 4, values, row, 4, scale, signBits);
    }
  }
};

const IQ1_DELTA = 0.125;

/** IQ1_S/IQ1_M: value = scale·(grid + ±delta). */
function putDelta(out: Float32Array, at: number, values: Int8Array, row: number, scale: number, delta: number): void {
  for (let i = 0; i < 8; i++) out[at + i] = f32(scale * f32(values[row * 8 + i]! + delta));
}

export const decodeIQ1_S: BlockDecoder = (blocks, out) => {
  const values = grid(IQ1_S_GRID);
  for (let b = 0, o = 0; b < blocks.length; b += 50, o += 256) {
    const d = halfAt(blocks, b);
    for (let ib = 0; ib < 8; ib++) {
      const qh = u16(blocks, b + 34 + ib * 2);
      const scale = f32(d * (2 * ((qh >> 12) & 7) + 1));
      const delta = qh & 0x8000 ? -IQ1_DELTA : IQ1_DELTA;
      for (let k = 0; k < 4; k++) {
        putDelta(out, o + ib * 32 + k * 8, values, blocks[b + 2 + ib * 4 + k]! | (((qh >> (3 * k)) & 7) << 8), scale, delta);
      }
    }
  }
};

export const decodeIQ1_M: BlockDecoder = (blocks, out) => {
  const values = grid(IQ1_S_GRID),
    half = halfTable();
  for (let b = 0, o = 0; b < blocks.length; b += 56, o += 256) {
    const words = [0, 1, 2, 3].map((w) => u16(blocks, b + 48 + w * 2));
    // The float16 scale is spread over the top 4 bits of the four scale words.
    const d = half[(words[0]! >> 12) | ((words[1]! >> 8) & 0xf0) | ((words[2]! >> 4) & 0xf00) | (words[3]! & 0xf000)]!;
    for (let g = 0; g < 32; g++) {
      const s = (words[g >> 3]! >> (3 * ((g >> 1) & 3))) & 7;
      const scale = f32(d * (2 * s + 1));
      const qh = blocks[b + 32 + (g >> 1)]! >> (4 * (g & 1));
      putDelta(out, o + g * 8, values, blocks[b + g]! | ((qh & 7) << 8), scale, qh & 8 ? -IQ1_DELTA : IQ1_DELTA);
    }
  }
};
