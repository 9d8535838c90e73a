import { float16BitsFromNumber } from "../../kernels/cast.js";
import type { BlockEncoder } from "./block-encoder.js";
import { encodeQ4_K, encodeQ6_K } from "./quantize-k.js";

/*
 * The reference quantizers llama.cpp writes these types with (ggml-quants.c quantize_row_*_ref,
 * which gguf-py's numpy quantizers reproduce bit for bit), in float32 arithmetic (Math.fround at
 * every step) so the blocks are byte for byte theirs. `values` holds whole blocks.
 */
const f32 = Math.fround;

function putHalf(out: Uint8Array, at: number, value: number): void {
  const bits = float16BitsFromNumber(value);
  out[at] = bits & 255;
  out[at + 1] = bits >> 8;
}

/** roundf: halves away from zero. */
function roundAway(x: number): number {
  return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

export const encodeQ8_0: BlockEncoder = (values, out) => {
  for (let v = 0, b = 0; v < values.length; v += 32, b += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[v + j]!));
    const d = f32(amax / 127);
    const id = d === 0 ? 0 : f32(1 / d);
    putHalf(out, b, d);
    for (let j = 0; j < 32; j++) out[b + 2 + j] = roundAway(f32(values[v + j]! * id)) & 255;
  }
};

/** The value of largest magnitude among a block's 32, sign kept (the first one on ties). */
function signedMax(values: Float32Array, start: number): number {
  let max = 0,
    amax = 0;
  for (let j = 0; j < 32; j++) {
    const x = values[start + j]!;
    if (Math.abs(x) > amax) {
      amax = Math.abs(x);
      max = x;
    }
  }
  return max;
}

export const encodeQ4_0: BlockEncoder = (values, out) => {
  for (let v = 0, b = 0; v < values.length; v += 32, b += 18) {
    const d = f32(signedMax(values, v) / -8);
    const id = d === 0 ? 0 : f32(1 / d);
    putHalf(out, b, d);
    const q = (x: number): number => Math.min(15, Math.trunc(f32(f32(x * id) + 8.5)));
    for (let j = 0; j < 16; j++) out[b + 2 + j] = q(values[v + j]!) | (q(values[v + 16 + j]!) << 4);
  }
};

/** Q5_0: like Q4_0 with 16 levels each side; the fifth bits of the 32 values make a u32. */
export const encodeQ5_0: BlockEncoder = (values, out) => {
  for (let v = 0, b = 0; v < values.length; v += 32, b += 22) {
    const d = f32(signedMax(values, v) / -16);
    const id = d === 0 ? 0 : f32(1 / d);
    putHalf(out, b, d);
    const q = (x: number): number => Math.min(31, Math.trunc(f32(f32(x * id) + 16.5)));
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const lo = q(values[v + j]!),
        hi = q(values[v + 16 + j]!);
      out[b + 6 + j] = (lo & 15) | ((hi & 15) << 4);
      qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + 16));
    }
    new DataView(out.buffer, out.byteOffset + b + 2, 4).setUint32(0, qh >>> 0, true);
  }
};

export const BLOCK_ENCODERS: Readonly<Record<string, BlockEncoder>> = {
  Q8_0: encodeQ8_0,
  Q4_0: encodeQ4_0,
  Q5_0: encodeQ5_0,
  Q4_K: encodeQ4_K,
  Q6_K: encodeQ6_K,
};

/** What llama-quantize writes instead when a row is not whole super-blocks (llama-quant.cpp's fallbacks). */
export const FALLBACK: Readonly<Record<string, string>> = { Q4_K: "Q5_0", Q6_K: "Q8_0" };
