import { dtypeSize, type DType } from "../tensor/dtype.js";
import { WeightbridgeError } from "../errors.js";
import { castFloatInto, LITTLE_ENDIAN, type KernelDType } from "./cast-kernels.js";
import { castWasm } from "./wasm/cast-wasm.js";

// Casts between the real floating types, each rounding to nearest, ties to even,
// and keeping NaN, ±Inf and signed zero. Values too large for the target become ±Inf.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Encodes a number into a binary float with `expBits` exponent and `mantBits` mantissa
 * bits (IEEE-style: bias 2^(e-1)-1, all-ones exponent for Inf/NaN). Exact for any double input.
 */
function encodeIeee(x: number, expBits: number, mantBits: number): number {
  const signBit = 1 << (expBits + mantBits);
  const expMax = (1 << expBits) - 1;
  const bias = expMax >> 1;
  const sign = x < 0 || Object.is(x, -0) ? signBit : 0;
  if (Number.isNaN(x)) return (expMax << mantBits) | (1 << (mantBits - 1));
  const a = Math.abs(x);
  if (a === Infinity) return sign | (expMax << mantBits);
  if (a === 0) return sign;
  const minNormalExp = 1 - bias;
  let e = Math.floor(Math.log2(a));
  // log2 can be off by one near powers of two; correct it exactly.
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  if (e < minNormalExp) {
    const m = roundHalfEven(a / 2 ** (minNormalExp - mantBits));
    // m may round up into the smallest normal, which the bit layout handles by itself.
    return sign | m;
  }
  let m = roundHalfEven((a / 2 ** e) * 2 ** mantBits); // in [2^mant, 2^(mant+1)]
  if (m === 2 ** (mantBits + 1)) {
    m = 2 ** mantBits;
    e += 1;
  }
  const biased = e + bias;
  if (biased >= expMax) return sign | (expMax << mantBits);
  return sign | (biased << mantBits) | (m - 2 ** mantBits);
}

function decodeIeee(bits: number, expBits: number, mantBits: number): number {
  const expMax = (1 << expBits) - 1;
  const bias = expMax >> 1;
  const sign = bits & (1 << (expBits + mantBits)) ? -1 : 1;
  const exp = (bits >> mantBits) & expMax;
  const mant = bits & ((1 << mantBits) - 1);
  if (exp === expMax) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
  return sign * (1 + mant / 2 ** mantBits) * 2 ** (exp - bias);
}

export function float16BitsFromNumber(x: number): number {
  return encodeIeee(x, 5, 10);
}

export function numberFromFloat16Bits(bits: number): number {
  return decodeIeee(bits, 5, 10);
}

/** bfloat16 from a number, rounding to nearest even. NaN keeps a quiet NaN. */
export function bfloat16BitsFromNumber(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if (Number.isNaN(x)) return ((bits >>> 16) | 0x40) & 0xffff;
  if (Math.fround(x) === x) {
    const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
    return (rounded >>> 16) & 0xffff;
  }
  return encodeIeee(x, 8, 7); // a double that is not a float32: round once, directly
}

export function numberFromBfloat16Bits(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

const CASTABLE = new Set<DType>(["float64", "float32", "float16", "bfloat16"]);

export function canCast(from: DType, to: DType): boolean {
  return CASTABLE.has(from) && CASTABLE.has(to);
}

function readerFor(dtype: DType, bytes: Uint8Array): (i: number) => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "float64":
      return (i) => view.getFloat64(i * 8, true);
    case "float32":
      return (i) => view.getFloat32(i * 4, true);
    case "float16":
      return (i) => numberFromFloat16Bits(view.getUint16(i * 2, true));
    case "bfloat16":
      return (i) => numberFromBfloat16Bits(view.getUint16(i * 2, true));
    default:
      throw new WeightbridgeError("unsupported", `cannot cast from ${dtype}`);
  }
}

const KERNEL_TYPES: ReadonlySet<DType> = new Set<DType>(["float32", "float16", "bfloat16"]);

/** Below this many input bytes the JS kernel casts: float32 → float16 breaks even under 1 KiB, WASM is 2.3× faster at 4 KiB. */
export const WASM_CAST_MIN_BYTES = 1024;

/** Casts little-endian element bytes between float64, float32, float16 and bfloat16. */
export function castBytes(bytes: Uint8Array, from: DType, to: DType): Uint8Array {
  if (from === to) return bytes;
  if (!canCast(from, to)) throw new WeightbridgeError("unsupported", `cannot cast ${from} to ${to}`);
  const out = new Uint8Array((bytes.byteLength / dtypeSize(from)) * dtypeSize(to));
  castInto(bytes, out, from, to);
  return out;
}

/**
 * Casts `bytes` (little-endian `from` elements) into `out`, which must hold exactly as many `to`
 * elements: callers pass recycled buffers. WebAssembly SIMD where it is available, else the JS kernel
 * (same bytes), and the per-element reference for float64 and big-endian hosts.
 */
export function castInto(bytes: Uint8Array, out: Uint8Array, from: DType, to: DType): void {
  if (!canCast(from, to)) throw new WeightbridgeError("unsupported", `cannot cast ${from} to ${to}`);
  const count = bytes.byteLength / dtypeSize(from);
  if (out.byteLength !== count * dtypeSize(to)) {
    throw new WeightbridgeError("usage", `cast output holds ${out.byteLength} bytes, ${count} ${to} elements need ${count * dtypeSize(to)}`);
  }
  if (from === to) out.set(bytes);
  else if (KERNEL_TYPES.has(from) && KERNEL_TYPES.has(to)) {
    const a = from as KernelDType;
    const b = to as KernelDType;
    if (bytes.byteLength >= WASM_CAST_MIN_BYTES && castWasm(bytes, out, a, b)) return;
    if (LITTLE_ENDIAN) castFloatInto(bytes, out, a, b, numberFromFloat16Bits);
    else out.set(castBytesReference(bytes, from, to));
  } else out.set(castBytesReference(bytes, from, to));
}

/** The per-element reference cast (float64 and big-endian hosts; the kernels are tested against it). */
export function castBytesReference(bytes: Uint8Array, from: DType, to: DType): Uint8Array {
  if (from === to) return bytes;
  if (!canCast(from, to)) throw new WeightbridgeError("unsupported", `cannot cast ${from} to ${to}`);
  const get = readerFor(from, bytes);
  const count = bytes.byteLength / dtypeSize(from);
  const size = dtypeSize(to);
  const out = new Uint8Array(count * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const v = get(i);
    switch (to) {
      case "float64":
        view.setFloat64(i * 8, v, true);
        break;
      case "float32":
        view.setFloat32(i * 4, v, true);
        break;
      case "float16":
        view.setUint16(i * 2, float16BitsFromNumber(v), true);
        break;
      case "bfloat16":
        view.setUint16(i * 2, bfloat16BitsFromNumber(v), true);
        break;
    }
  }
  return out;
}
