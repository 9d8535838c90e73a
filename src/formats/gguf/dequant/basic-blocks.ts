import { f32, halfAt, type BlockDecoder } from "./half.js";

/*
 * The 32-value block types and the ternary ones, decoded exactly as gguf-py's numpy dequantizers
 * (and ggml-quants.c) compute them in float32: every product and sum is rounded to float32
 * (Math.fround), so the bytes are the same as theirs. Within a 32-value block the 16 low nibbles
 * are values 0-15 and the 16 high nibbles values 16-31.
 */

export const IQ4_NL_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
/** e2m1 values, doubled (the scale below is halved to match). */
const MXFP4_VALUES = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

function nibbleBlocks(size: number, header: number, value: (d: number, m: number, q: number) => number, withMin: boolean): BlockDecoder {
  return (blocks, out) => {
    for (let b = 0, o = 0; b < blocks.length; b += size, o += 32) {
      const d = halfAt(blocks, b);
      const m = withMin ? halfAt(blocks, b + 2) : 0;
      for (let j = 0; j < 16; j++) {
        const byte = blocks[b + header + j]!;
        out[o + j] = value(d, m, byte & 15);
        out[o + j + 16] = value(d, m, byte >> 4);
      }
    }
  };
}

export const decodeQ4_0 = nibbleBlocks(18, 2, (d, _m, q) => f32(d * (q - 8)), false);
export const decodeQ4_1 = nibbleBlocks(20, 4, (d, m, q) => f32(f32(d * q) + m), true);
export const decodeIQ4_NL = nibbleBlocks(18, 2, (d, _m, q) => f32(d * IQ4_NL_VALUES[q]!), false);

function fiveBitBlocks(size: number, withMin: boolean): BlockDecoder {
  const header = withMin ? 4 : 2;
  return (blocks, out) => {
    for (let b = 0, o = 0; b < blocks.length; b += size, o += 32) {
      const d = halfAt(blocks, b);
      const m = withMin ? halfAt(blocks, b + 2) : 0;
      const qh = (blocks[b + header]! | (blocks[b + header + 1]! << 8) | (blocks[b + header + 2]! << 16) | (blocks[b + header + 3]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        const byte = blocks[b + header + 4 + j]!;
        const lo = (byte & 15) | (((qh >>> j) & 1) << 4);
        const hi = (byte >> 4) | (((qh >>> (j + 16)) & 1) << 4);
        out[o + j] = withMin ? f32(f32(d * lo) + m) : f32(d * (lo - 16));
        out[o + j + 16] = withMin ? f32(f32(d * hi) + m) : f32(d * (hi - 16));
      }
    }
  };
}

export const decodeQ5_0 = fiveBitBlocks(22, false);
export const decodeQ5_1 = fiveBitBlocks(24, true);

function int8Blocks(size: number, header: number): BlockDecoder {
  return (blocks, out) => {
    for (let b = 0, o = 0; b < blocks.length; b += size, o += 32) {
      const d = halfAt(blocks, b);
      for (let j = 0; j < 32; j++) out[o + j] = f32(d * ((blocks[b + header + j]! << 24) >> 24));
    }
  };
}

export const decodeQ8_0 = int8Blocks(34, 2);
/** ggml's block_q8_1: d, then s = d·Σq (not needed to decode), then 32 int8. */
export const decodeQ8_1 = int8Blocks(36, 4);

/** ggml_e8m0_to_fp32_half: 2^(e-128) (the kvalues are doubled). */
function e8m0Half(e: number): number {
  const bits = e < 2 ? 0x00200000 << e : (e - 1) << 23;
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]!;
}

export const decodeMXFP4: BlockDecoder = (blocks, out) => {
  for (let b = 0, o = 0; b < blocks.length; b += 17, o += 32) {
    const d = e8m0Half(blocks[b]!);
    for (let j = 0; j < 16; j++) {
      const byte = blocks[b + 1 + j]!;
      out[o + j] = f32(d * MXFP4_VALUES[byte & 15]!);
      out[o + j + 16] = f32(d * MXFP4_VALUES[byte >> 4]!);
    }
  }
};

const POW3 = [1, 3, 9, 27, 81];

/** TQ1_0: 5 trits per byte as a fixed-point fraction (q·3^k mod 256, then ·3 >> 8), 48+4 bytes, then d. */
export const decodeTQ1_0: BlockDecoder = (blocks, out) => {
  const trit = (byte: number, k: number): number => ((((byte * POW3[k]!) & 255) * 3) >> 8) - 1;
  for (let b = 0, o = 0; b < blocks.length; b += 54, o += 256) {
    const d = halfAt(blocks, b + 52);
    for (let k = 0; k < 5; k++) {
      for (let l = 0; l < 32; l++) out[o + k * 32 + l] = f32(d * trit(blocks[b + l]!, k));
      for (let l = 0; l < 16; l++) out[o + 160 + k * 16 + l] = f32(d * trit(blocks[b + 32 + l]!, k));
    }
    for (let k = 0; k < 4; k++) {
      for (let l = 0; l < 4; l++) out[o + 240 + k * 4 + l] = f32(d * trit(blocks[b + 48 + l]!, k));
    }
  }
};

/** TQ2_0: 2 bits per value (0,1,2 → -1,0,1), 64 bytes, then d. */
export const decodeTQ2_0: BlockDecoder = (blocks, out) => {
  for (let b = 0, o = 0; b < blocks.length; b += 66, o += 256) {
    const d = halfAt(blocks, b + 64);
    for (let half = 0; half < 2; half++) {
      for (let shift = 0; shift < 4; shift++) {
        for (let l = 0; l < 32; l++) out[o + half * 128 + shift * 32 + l] = f32(d * (((blocks[b + half * 32 + l]! >> (2 * shift)) & 3) - 1));
      }
    }
  }
};
