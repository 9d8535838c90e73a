import { float16BitsFromNumber, numberFromFloat16Bits } from "../../kernels/cast.js";
import type { BlockEncoder } from "./block-encoder.js";

/*
 * Q4_K and Q6_K as llama.cpp writes them without an importance matrix (ggml-quants.c
 * quantize_row_q4_K_ref / quantize_row_q6_K_ref: the search for each sub-block's scale and min),
 * in float32 arithmetic without fused multiply-adds: every operation is rounded with Math.fround
 * in the order the reference evaluates it.
 */
const f32 = Math.fround;
const GROUP_MAX_EPS = f32(1e-15);
const TENTH = f32(0.1);
const ROUNDER = 12582912; // 1.5·2^23: adding it rounds a float32 to an integer, halves to even

/** ggml's nearest_int: round half to even through a float32 addition. */
function nearestInt(x: number): number {
  return f32(x + ROUNDER) - ROUNDER;
}

function half(x: number): number {
  return float16BitsFromNumber(x);
}

/** make_qkx2_quants: levels 0..nmax with a scale and a min, for one sub-block; returns [scale, -min]. */
function scaleAndMin(x: Float32Array, weights: Float32Array, levels: Uint8Array, nmax: number): [number, number] {
  const n = x.length,
    aux = new Uint8Array(n);
  let min = x[0]!,
    max = x[0]!,
    sumW = weights[0]!,
    sumX = f32(sumW * x[0]!);
  for (let i = 1; i < n; i++) {
    if (x[i]! < min) min = x[i]!;
    if (x[i]! > max) max = x[i]!;
    sumW = f32(sumW + weights[i]!);
    sumX = f32(sumX + f32(weights[i]! * x[i]!));
  }
  if (min > 0) min = 0;
  if (max === min) {
    levels.fill(0);
    return [0, -min];
  }
  let iscale = f32(nmax / f32(max - min));
  let scale = f32(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    levels[i] = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(x[i]! - min)))));
    const diff = f32(f32(f32(scale * levels[i]!) + min) - x[i]!);
    bestError = f32(bestError + f32(weights[i]! * f32(diff * diff)));
  }
  for (let step = 0; step <= 20; step++) {
    iscale = f32(f32(f32(-1 + f32(TENTH * step)) + nmax) / f32(max - min));
    let sumL = 0,
      sumL2 = 0,
      sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(x[i]! - min)))));
      aux[i] = l;
      const w = weights[i]!;
      sumL = f32(sumL + f32(w * l));
      sumL2 = f32(sumL2 + f32(f32(w * l) * l));
      sumXL = f32(sumXL + f32(f32(w * l) * x[i]!));
    }
    const D = f32(f32(sumW * sumL2) - f32(sumL * sumL));
    if (D > 0) {
      let thisScale = f32(f32(f32(sumW * sumXL) - f32(sumX * sumL)) / D);
      let thisMin = f32(f32(f32(sumL2 * sumX) - f32(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f32(sumXL / sumL2);
      }
      let error = 0;
      for (let i = 0; i < n; i++) {
        const diff = f32(f32(f32(thisScale * aux[i]!) + thisMin) - x[i]!);
        error = f32(error + f32(weights[i]! * f32(diff * diff)));
      }
      if (error < bestError) {
        levels.set(aux);
        bestError = error;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

export const encodeQ4_K: BlockEncoder = (values, out) => {
  const levels = new Uint8Array(256),
    weights = new Float32Array(32);
  const scales = new Float32Array(8),
    mins = new Float32Array(8);
  for (let v = 0, b = 0; v < values.length; v += 256, b += 144) {
    let maxScale = 0,
      maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const x = values.subarray(v + 32 * j, v + 32 * j + 32);
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f32(sumX2 + f32(x[l]! * x[l]!));
      const avX = f32(Math.sqrt(f32(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f32(avX + Math.abs(x[l]!));
      [scales[j], mins[j]] = scaleAndMin(x, weights, levels.subarray(32 * j, 32 * j + 32), 15);
      if (scales[j]! > maxScale) maxScale = scales[j]!;
      if (mins[j]! > maxMin) maxMin = mins[j]!;
    }
    const invScale = maxScale > 0 ? f32(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f32(63 / maxMin) : 0;
    const packed = out.subarray(b + 4, b + 16);
    packed.fill(0);
    const ls = new Uint8Array(8),
      lm = new Uint8Array(8);
    for (let j = 0; j < 8; j++) {
      ls[j] = Math.min(63, nearestInt(f32(invScale * scales[j]!)) & 255);
      lm[j] = Math.min(63, nearestInt(f32(invMin * mins[j]!)) & 255);
      if (j < 4) {
        packed[j] = ls[j]!;
        packed[j + 4] = lm[j]!;
      } else {
        packed[j + 4] = (ls[j]! & 15) | ((lm[j]! & 15) << 4);
        packed[j - 4] |= (ls[j]! >> 4) << 6;
        packed[j] |= (lm[j]! >> 4) << 6;
      }
    }
    const dBits = half(f32(maxScale / 63)),
      dminBits = half(f32(maxMin / 63));
    out[b] = dBits & 255;
    out[b + 1] = dBits >> 8;
    out[b + 2] = dminBits & 255;
    out[b + 3] = dminBits >> 8;
    const d16 = numberFromFloat16Bits(dBits),
      dmin16 = numberFromFloat16Bits(dminBits);
    for (let j = 0; j < 8; j++) {
      const d = f32(d16 * ls[j]!);
      if (!d) continue;
      const dm = f32(dmin16 * lm[j]!);
      for (let i = 0; i < 32; i++) levels[32 * j + i] = Math.max(0, Math.min(15, nearestInt(f32(f32(values[v + 32 * j + i]! + dm) / d))));
    }
    for (let j = 0, q = b + 16; j < 256; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = levels[j + l]! | (levels[j + l + 32]! << 4);
    }
  }
};

/** make_qx_quants(16, 32, x, L, rmse_type 1): signed levels -32..31 weighted by x². */
function signedScale(x: Float32Array, levels: Int8Array): number {
  const nmax = 32;
  let max = 0,
    amax = 0;
  for (let i = 0; i < x.length; i++) {
    const ax = Math.abs(x[i]!);
    if (ax > amax) {
      amax = ax;
      max = x[i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    levels.fill(0);
    return 0;
  }
  const search = (iscale: number, keep: boolean): [number, number] => {
    let sumLX = 0,
      sumL2 = 0;
    for (let i = 0; i < x.length; i++) {
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f32(iscale * x[i]!))));
      if (keep) levels[i] = l + nmax;
      const w = f32(x[i]! * x[i]!);
      sumLX = f32(sumLX + f32(f32(w * x[i]!) * l));
      sumL2 = f32(sumL2 + f32(f32(w * l) * l));
    }
    return [sumLX, sumL2];
  };
  let [sumLX, sumL2] = search(f32(-nmax / max), true);
  let scale = sumL2 ? f32(sumLX / sumL2) : 0;
  let best = f32(scale * sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    const iscale = f32(-f32(nmax + f32(TENTH * is)) / max);
    [sumLX, sumL2] = search(iscale, false);
    if (sumL2 > 0 && f32(sumLX * sumLX) > f32(best * sumL2)) {
      search(iscale, true);
      scale = f32(sumLX / sumL2);
      best = f32(scale * sumLX);
    }
  }
  return scale;
}

export const encodeQ6_K: BlockEncoder = (values, out) => {
  const levels = new Int8Array(256),
    scales = new Float32Array(16);
  for (let v = 0, b = 0; v < values.length; v += 256, b += 210) {
    let maxScale = 0,
      maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = signedScale(values.subarray(v + 16 * ib, v + 16 * ib + 16), levels.subarray(16 * ib, 16 * ib + 16));
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    out.fill(0, b, b + 210);
    if (maxAbsScale < GROUP_MAX_EPS) continue;
    const iscale = f32(-128 / maxScale);
    const dBits = half(f32(1 / iscale));
    out[b + 208] = dBits & 255;
    out[b + 209] = dBits >> 8;
    const d16 = numberFromFloat16Bits(dBits);
    const blockScales = new Int8Array(out.buffer, out.byteOffset + b + 192, 16);
    for (let ib = 0; ib < 16; ib++) blockScales[ib] = Math.min(127, nearestInt(f32(iscale * scales[ib]!)));
    for (let j = 0; j < 16; j++) {
      const d = f32(d16 * blockScales[j]!);
      if (!d) continue;
      for (let i = 0; i < 16; i++) levels[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f32(values[v + 16 * j + i]! / d)))) + 32;
    }
    for (let j = 0, ql = b, qh = b + 128; j < 256; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const [q1, q2, q3, q4] = [levels[j + l]!, levels[j + l + 32]!, levels[j + l + 64]!, levels[j + l + 96]!];
        out[ql + l] = (q1 & 15) | ((q3 & 15) << 4);
        out[ql + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
        out[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
};
