// Typed-array cast kernels between float32, float16 and bfloat16: the same results, bit for bit,
// as the per-element reference in cast.ts (round to nearest even, overflow to ±Inf, NaN as the
// reference writes it), 10-50× faster. They define the bytes the WebAssembly kernels
// (./wasm/cast-wasm.ts) must match and run where those cannot (small inputs, no WebAssembly).
// They work on native-endian typed arrays, so cast.ts only uses them on little-endian hosts.

export type KernelDType = "float32" | "float16" | "bfloat16";

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `bytes` as `T` elements, copying only when the offset is not aligned for the element size. */
function aligned<T>(bytes: Uint8Array, size: number, make: (buffer: ArrayBufferLike, offset: number, length: number) => T): T {
  const source = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return make(source.buffer, source.byteOffset, source.byteLength / size);
}

const u16 = (b: Uint8Array) => aligned(b, 2, (buf, off, n) => new Uint16Array(buf, off, n));
const u32 = (b: Uint8Array) => aligned(b, 4, (buf, off, n) => new Uint32Array(buf, off, n));

let halfTable: Uint32Array | undefined;

/** float16 → float32 bits for all 65536 inputs, made once from the reference decoder. */
function float16Table(decode: (bits: number) => number): Uint32Array {
  if (halfTable) return halfTable;
  const f = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) f[h] = decode(h);
  halfTable = new Uint32Array(f.buffer);
  return halfTable;
}

/** float32 bits → float16 bits, rounding to nearest even; NaN → 0x7e00 (as the reference). */
export function float16FromFloat32Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? 0x7e00 : sign | 0x7c00;
  if (exp >= 143) return sign | 0x7c00; // ≥ 2^16: past float16's range
  if (exp >= 113) {
    // Normal float16: keep 10 mantissa bits, round on the 13 dropped ones; a carry rolls into
    // the exponent (and to Inf at the top), which is exactly right.
    let half = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) !== 0)) half++;
    return sign | half;
  }
  // Subnormal float16 (units of 2^-24) or zero.
  const shift = 126 - exp;
  if (exp === 0 || shift > 24) return sign;
  const m = mant | 0x800000;
  let q = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (q & 1) !== 0)) q++;
  return sign | q;
}

/** float32 bits → bfloat16 bits, rounding to nearest even; a NaN keeps its sign and top payload, made quiet. */
function bfloat16FromFloat32Bits(x: number): number {
  return (x & 0x7fffffff) > 0x7f800000 ? ((x >>> 16) | 0x40) & 0xffff : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Casts little-endian element bytes between float32, float16 and bfloat16 (from ≠ to) into `out`
 * (the right length for `to`). `decodeHalf` is the reference float16 decoder, used once to build
 * the lookup table.
 */
export function castFloatInto(bytes: Uint8Array, out: Uint8Array, from: KernelDType, to: KernelDType, decodeHalf: (bits: number) => number): void {
  const n = bytes.byteLength / (from === "float32" ? 4 : 2);
  // Typed views need aligned offsets: an unaligned output is written through an aligned copy.
  const target = out.byteOffset % (to === "float32" ? 4 : 2) === 0 ? out : new Uint8Array(out.byteLength);
  if (to === "float32") {
    const src = u16(bytes);
    const dst = new Uint32Array(target.buffer, target.byteOffset, n);
    if (from === "bfloat16") {
      for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
    } else {
      const table = float16Table(decodeHalf);
      for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
    }
  } else {
    const dst = new Uint16Array(target.buffer, target.byteOffset, n);
    const encode = to === "bfloat16" ? bfloat16FromFloat32Bits : float16FromFloat32Bits;
    if (from === "float32") {
      const src = u32(bytes);
      if (to === "bfloat16") {
        for (let i = 0; i < n; i++) dst[i] = bfloat16FromFloat32Bits(src[i]!);
      } else {
        for (let i = 0; i < n; i++) dst[i] = float16FromFloat32Bits(src[i]!);
      }
    } else {
      // float16 ⇄ bfloat16: through float32 bits, one element at a time.
      const src = u16(bytes);
      const table = from === "float16" ? float16Table(decodeHalf) : undefined;
      for (let i = 0; i < n; i++) dst[i] = encode(table ? table[src[i]!]! : src[i]! << 16);
    }
  }
  if (target !== out) out.set(target);
}
