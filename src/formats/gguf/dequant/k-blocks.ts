import { f32, halfAt, type BlockDecoder } from "./half.js";
import { IQ4_NL_VALUES } from "./basic-blocks.js";

/*
 * The 256-value "K" super-blocks (ggml-common.h block_q2_K ... block_q8_K) and IQ4_XS, decoded as
 * gguf-py's numpy dequantizers compute them: sub-block scales are float32 products (d·scale),
 * then each value is scale·q (− min·m), each step rounded to float32.
 */

/** Q4_K/Q5_K's 12 bytes of eight 6-bit scales and eight 6-bit mins, into `scales` and `mins`. */
function scalesAndMins(blocks: Uint8Array, at: number, scales: Uint8Array, mins: Uint8Array): void {
  for (let j = 0; j < 4; j++) {
    scales[j] = blocks[at + j]! & 63;
    mins[j] = blocks[at + 4 + j]! & 63;
    const packed = blocks[at + 8 + j]!;
    scales[j + 4] = (packed & 15) | ((blocks[at + j]! >> 2) & 0x30);
    mins[j + 4] = (packed >> 4) | ((blocks[at + 4 + j]! >> 2) & 0x30);
  }
}

export const decodeQ2_K: BlockDecoder = (blocks, out) => {
  for (let b = 0, o = 0; b < blocks.length; b += 84, o += 256) {
    const d = halfAt(blocks, b + 80);
    const dmin = halfAt(blocks, b + 82);
    for (let e = 0; e < 256; e++) {
      const half = e >> 7,
        shift = (e >> 5) & 3,
        l = e & 31;
      const scale = blocks[b + (e >> 4)]!;
      const q = (blocks[b + 16 + half * 32 + l]! >> (2 * shift)) & 3;
      out[o + e] = f32(f32(f32(d * (scale & 15)) * q) - f32(dmin * (scale >> 4)));
    }
  }
};

export const decodeQ3_K: BlockDecoder = (blocks, out) => {
  const scales = new Float32Array(16);
  for (let b = 0, o = 0; b < blocks.length; b += 110, o += 256) {
    const d = halfAt(blocks, b + 108);
    const s = b + 96;
    for (let j = 0; j < 16; j++) {
      const low = (blocks[s + (j & 7)]! >> (4 * (j >> 3))) & 15;
      const high = (blocks[s + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3;
      scales[j] = f32(d * ((low | (high << 4)) - 32));
    }
    for (let e = 0; e < 256; e++) {
      const half = e >> 7,
        shift = (e >> 5) & 3,
        l = e & 31;
      const low = (blocks[b + 32 + half * 32 + l]! >> (2 * shift)) & 3;
      const highSet = (blocks[b + l]! >> (e >> 5)) & 1;
      out[o + e] = f32(scales[e >> 4]! * (low - (highSet ? 0 : 4)));
    }
  }
};

function fourOrFiveBit(size: number, withHigh: boolean): BlockDecoder {
  const qsAt = withHigh ? 48 : 16;
  const sc = new Uint8Array(8),
    mn = new Uint8Array(8);
  return (blocks, out) => {
    for (let b = 0, o = 0; b < blocks.length; b += size, o += 256) {
      const d = halfAt(blocks, b);
      const dmin = halfAt(blocks, b + 2);
      scalesAndMins(blocks, b + 4, sc, mn);
      for (let j = 0; j < 8; j++) {
        const scale = f32(d * sc[j]!),
          min = f32(dmin * mn[j]!);
        const chunk = b + qsAt + (j >> 1) * 32,
          shift = 4 * (j & 1),
          at = o + j * 32;
        // A Float32Array store rounds once; scale·q must be rounded on its own before the subtraction.
        if (withHigh) {
          for (let l = 0; l < 32; l++) out[at + l] = f32(scale * (((blocks[chunk + l]! >> shift) & 15) | (((blocks[b + 16 + l]! >> j) & 1) << 4))) - min;
        } else {
          for (let l = 0; l < 32; l++) out[at + l] = f32(scale * ((blocks[chunk + l]! >> shift) & 15)) - min;
        }
      }
    }
  };
}

export const decodeQ4_K = fourOrFiveBit(144, false);
export const decodeQ5_K = fourOrFiveBit(176, true);

export const decodeQ6_K: BlockDecoder = (blocks, out) => {
  const scales = new Float32Array(16);
  for (let b = 0, o = 0; b < blocks.length; b += 210, o += 256) {
    const d = halfAt(blocks, b + 208);
    for (let j = 0; j < 16; j++) scales[j] = f32(d * ((blocks[b + 192 + j]! << 24) >> 24));
    for (let e = 0; e < 256; e++) {
      const half = e >> 7;
      const low = (blocks[b + half * 64 + (e & 63)]! >> (4 * ((e >> 6) & 1))) & 15;
      const high = (blocks[b + 128 + half * 32 + (e & 31)]! >> (2 * ((e >> 5) & 3))) & 3;
      out[o + e] = scales[e >> 4]! * ((low | (high << 4)) - 32);
    }
  }
};

/** Q8_K: a float32 d, 256 int8, then 16 int16 block sums (not needed to decode). */
export const decodeQ8_K: BlockDecoder = (blocks, out) => {
  const view = new DataView(blocks.buffer, blocks.byteOffset, blocks.byteLength);
  for (let b = 0, o = 0; b < blocks.length; b += 292, o += 256) {
    const d = view.getFloat32(b, true);
    for (let e = 0; e < 256; e++) out[o + e] = f32(d * ((blocks[b + 4 + e]! << 24) >> 24));
  }
};

export const decodeIQ4_XS: BlockDecoder = (blocks, out) => {
  for (let b = 0, o = 0; b < blocks.length; b += 136, o += 256) {
    const d = halfAt(blocks, b);
    const high = blocks[b + 2]! | (blocks[b + 3]! << 8);
    for (let j = 0; j < 8; j++) {
      const low = (blocks[b + 4 + (j >> 1)]! >> (4 * (j & 1))) & 15;
      const scale = f32(d * ((low | (((high >> (2 * j)) & 3) << 4)) - 32));
      for (let l = 0; l < 16; l++) {
        const byte = blocks[b + 8 + j * 16 + l]!;
        out[o + j * 32 + l] = f32(scale * IQ4_NL_VALUES[byte & 15]!);
        out[o + j * 32 + 16 + l] = f32(scale * IQ4_NL_VALUES[byte >> 4]!);
      }
    }
  }
};
