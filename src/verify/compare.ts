import type { DType } from "../tensor/dtype.js";

// How close two layer outputs are. The relative error of an element is measured against the
// larger of its own magnitude and the RMS of the source output, so an output that happens to be
// near zero (cancellation) does not make a float16 rounding look like a wrong layout.

export interface Closeness {
  maxAbs: number;
  maxRel: number;
}

export function closeness(source: Float64Array, target: Float64Array): Closeness {
  let sq = 0;
  for (const v of source) sq += v * v;
  const rms = Math.sqrt(sq / Math.max(1, source.length));
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < source.length; i++) {
    const a = source[i]!;
    const b = target[i]!;
    const d = Math.abs(a - b);
    if (Number.isNaN(d) && !(Number.isNaN(a) && Number.isNaN(b))) return { maxAbs: Infinity, maxRel: Infinity };
    if (d > maxAbs) maxAbs = d;
    const scale = Math.max(Math.abs(a), rms, Number.MIN_VALUE);
    if (d / scale > maxRel) maxRel = d / scale;
  }
  return { maxAbs, maxRel };
}

const RTOL: Partial<Record<DType, number>> = { float16: 5e-3, bfloat16: 3e-2 };

/** Default relative tolerance: 1e-5, looser when either side holds half-precision weights. */
export function defaultRtol(dtypes: readonly DType[]): number {
  return Math.max(1e-5, ...dtypes.map((d) => RTOL[d] ?? 0));
}
