import { describe, expect, it } from "vitest";
import { castBytes, castBytesReference, castInto, numberFromFloat16Bits } from "../../src/kernels/cast.js";
import { castFloatInto, type KernelDType } from "../../src/kernels/cast-kernels.js";
import { batchedTranspose, normalizePermutation } from "../../src/kernels/permute-plan.js";
import { permuteBytes, permuteInto } from "../../src/kernels/permute.js";
import { transposeJs } from "../../src/kernels/transpose-js.js";
import { castWasm } from "../../src/kernels/wasm/cast-wasm.js";
import { layoutKernels } from "../../src/kernels/wasm/layout-wasm.js";
import { transposeWasm, WASM_BANDS } from "../../src/kernels/wasm/transpose-wasm.js";
import { seededRandom } from "../../src/verify/random.js";

// Every layout kernel (JS, WebAssembly, and the dispatchers over them) against definitions written
// out element by element, on seeded random and edge inputs, for every element size they handle.

function randomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");

/** numpy's transpose by definition: output element at multi-index o is input element at o permuted back. */
function permuteReference(bytes: Uint8Array, shape: number[], size: number, perm: number[]): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  const rank = shape.length;
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const outShape = perm.map((a) => shape[a]!);
  const count = shape.reduce((a, b) => a * b, 1);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < count; o++) {
    let from = 0;
    for (let k = 0; k < rank; k++) from += index[k]! * inStrides[perm[k]!]!;
    out.set(bytes.subarray(from * size, (from + 1) * size), o * size);
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k]! < outShape[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}

function shuffled(n: number, random: () => number): number[] {
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return perm;
}

interface Case {
  shape: number[];
  perm: number[];
}

const DIMS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65];

function randomCases(count: number, seed: number, maxElements: number): Case[] {
  const random = seededRandom(seed);
  const cases: Case[] = [];
  while (cases.length < count) {
    const rank = 1 + Math.floor(random() * 5);
    const shape = Array.from({ length: rank }, () => DIMS[Math.floor(random() * DIMS.length)]!);
    if (shape.reduce((a, b) => a * b, 1) > maxElements) continue;
    cases.push({ shape, perm: shuffled(rank, random) });
  }
  return cases;
}

const FIXED: Case[] = [
  ...[
    [1, 1],
    [1, 9],
    [9, 1],
    [3, 5],
    [63, 65],
    [64, 64],
    [130, 67],
    [257, 3],
    [4, 1000],
    [1000, 4],
    [17, 1023],
    [768, 96],
  ].map((shape) => ({ shape, perm: [1, 0] })),
  // The permutes the mapping presets use (conv kernels between frameworks) and their inverses.
  { shape: [64, 32, 3, 3], perm: [2, 3, 1, 0] },
  { shape: [3, 3, 32, 64], perm: [3, 2, 0, 1] },
  { shape: [64, 32, 3, 3], perm: [2, 3, 0, 1] },
  { shape: [32, 16, 5], perm: [2, 1, 0] },
  { shape: [8, 4, 3, 3, 3], perm: [2, 3, 4, 1, 0] },
  { shape: [3, 3, 3, 4, 8], perm: [4, 3, 0, 1, 2] },
  { shape: [16, 1, 7, 7], perm: [2, 3, 1, 0] },
  // Last axis fixed (whole rows move), identity, size-1 axes only.
  { shape: [5, 6, 7], perm: [1, 0, 2] },
  { shape: [4, 5, 40], perm: [1, 0, 2] },
  { shape: [5, 6, 7], perm: [0, 1, 2] },
  { shape: [1, 6, 1], perm: [2, 1, 0] },
  { shape: [0, 6], perm: [1, 0] },
];

/** Runs every engine on `bytes` (and on unaligned copies of it) and expects the reference bytes. */
function expectAllEngines(bytes: Uint8Array, { shape, perm }: Case, size: number): void {
  const want = hex(permuteReference(bytes, shape, size, perm));
  const p = normalizePermutation(shape, perm, size);
  const label = `[${shape}] perm [${perm}] ${size}-byte`;
  expect(hex(permuteBytes(bytes, shape, size, perm)), label).toBe(want);
  const out = new Uint8Array(bytes.byteLength);
  permuteInto(bytes, out, shape, size, perm);
  expect(hex(out), label).toBe(want);
  if (p.shape.length === 0) return; // a plain copy: no kernel runs
  const js = new Uint8Array(bytes.byteLength);
  transposeJs(bytes, js, batchedTranspose(p.shape, p.perm), p.elementSize);
  expect(hex(js), `${label} JS`).toBe(want);
  const wasm = new Uint8Array(bytes.byteLength);
  if (transposeWasm(bytes, wasm, p)) expect(hex(wasm), `${label} WASM`).toBe(want);
  // Unaligned source and destination: no engine may rely on typed-array alignment.
  const src = new Uint8Array(bytes.byteLength + 1);
  src.set(bytes, 1);
  const dst = new Uint8Array(bytes.byteLength + 3);
  permuteInto(src.subarray(1), dst.subarray(3), shape, size, perm);
  expect(hex(dst.subarray(3)), `${label} unaligned`).toBe(want);
}

describe("permute kernels", () => {
  it("have WebAssembly SIMD on this runtime (else the JS kernels would silently do all the work)", () => {
    expect(layoutKernels()).toBeDefined();
  });

  for (const size of [1, 2, 4, 8, 3, 12]) {
    it(`match the element-by-element definition for ${size}-byte elements`, () => {
      const cases = [...FIXED, ...randomCases(60, size * 101, 40000)];
      cases.forEach((c, i) => {
        const count = c.shape.reduce((a, b) => a * b, 1);
        expectAllEngines(randomBytes(count * size, size * 1000 + i), c, size);
      });
    });
  }

  it("hand every 1/2/4/8-byte shape of the mapping presets to WebAssembly", () => {
    for (const size of [1, 2, 4, 8]) {
      for (const c of FIXED.slice(12, 18)) {
        const count = c.shape.reduce((a, b) => a * b, 1);
        const p = normalizePermutation(c.shape, c.perm, size);
        expect(transposeWasm(randomBytes(count * size, 5), new Uint8Array(count * size), p), `[${c.shape}] ${size}`).toBe(true);
      }
    }
  });

  it("give the same bytes when the WebAssembly memory is cut into many bands, of the input or of the output", () => {
    const saved = { ...WASM_BANDS };
    const handled = { input: 0, output: 0, auto: 0 };
    try {
      for (const [bands, side] of [4096, 20000, 65536].flatMap((b) => (["input", "output", "auto"] as const).map((s) => [b, s] as const))) {
        WASM_BANDS.bytes = bands;
        WASM_BANDS.side = side;
        for (const size of [1, 2, 4, 8]) {
          for (const c of [
            { shape: [300, 97], perm: [1, 0] },
            { shape: [96, 48, 3, 3], perm: [2, 3, 1, 0] },
            { shape: [40, 3, 3, 16, 8], perm: [0, 4, 3, 1, 2] },
            { shape: [64, 10, 33], perm: [1, 2, 0] },
          ]) {
            const count = c.shape.reduce((a, b) => a * b, 1);
            const bytes = randomBytes(count * size, bands + size);
            const want = hex(permuteReference(bytes, c.shape, size, c.perm));
            const out = new Uint8Array(bytes.byteLength);
            const p = normalizePermutation(c.shape, c.perm, size);
            if (transposeWasm(bytes, out, p)) {
              handled[side]++;
              expect(hex(out), `[${c.shape}] ${size}-byte, ${bands}-byte bands of the ${side}`).toBe(want);
            }
            expect(hex(permuteBytes(bytes, c.shape, size, c.perm))).toBe(want);
          }
        }
      }
    } finally {
      Object.assign(WASM_BANDS, saved);
    }
    // Short runs are left to the JS kernel; enough remain on each side to mean something.
    for (const count of Object.values(handled)) expect(count).toBeGreaterThan(10);
  });

  it("refuse an output of the wrong size", () => {
    expect(() => permuteInto(new Uint8Array(24), new Uint8Array(20), [2, 3], 4, [1, 0])).toThrow(/permute output holds 20 bytes/);
  });
});

// ---- casts ----

const SIZE: Record<KernelDType, number> = { float32: 4, float16: 2, bfloat16: 2 };
const NAN_EXP: Record<KernelDType, number> = { float32: 0x7f800000, float16: 0x7c00, bfloat16: 0x7f80 };

function readBits(bytes: Uint8Array, dtype: KernelDType, i: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return dtype === "float32" ? view.getUint32(i * 4, true) : view.getUint16(i * 2, true);
}

function isNaNBits(bits: number, dtype: KernelDType): boolean {
  const exp = NAN_EXP[dtype];
  const magnitude = dtype === "float32" ? bits & 0x7fffffff : bits & 0x7fff;
  return magnitude > exp;
}

/**
 * What a cast writes for a NaN input, payloads included: float32 → bfloat16 keeps the sign and top
 * payload bits (made quiet), bfloat16 → float32 keeps every bit, float16 → float32 gives the
 * canonical 0x7fc00000 and float32 → float16 gives 0x7e00; float16 ⇄ bfloat16 go through float32.
 */
function nanResult(bits: number, from: KernelDType, to: KernelDType): number {
  const f32 = from === "float32" ? bits : from === "bfloat16" ? (bits << 16) >>> 0 : 0x7fc00000;
  if (to === "float32") return f32;
  if (to === "float16") return 0x7e00;
  return ((f32 >>> 16) | 0x40) & 0xffff;
}

/** The per-element reference cast (through JS numbers), with NaN lanes set by the rule above. */
function castReference(bytes: Uint8Array, from: KernelDType, to: KernelDType): Uint8Array {
  const out = castBytesReference(bytes, from, to);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const count = bytes.byteLength / SIZE[from];
  for (let i = 0; i < count; i++) {
    const bits = readBits(bytes, from, i);
    if (!isNaNBits(bits, from)) continue;
    if (to === "float32") view.setUint32(i * 4, nanResult(bits, from, to), true);
    else view.setUint16(i * 2, nanResult(bits, from, to), true);
  }
  return out;
}

/** float32 bit patterns: random ones, specials, and every exponent with rounding ties and their neighbours. */
function float32Inputs(seed: number): Uint8Array {
  const random = seededRandom(seed);
  const bits: number[] = [
    0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7fffffff, 0xffffffff, 0x7fa5a5a5, 0x00000001,
    0x807fffff, 0x7f7fffff, 0xff7fffff, 0x477fefff, 0x477ff000, 0x47800000, 0x33000000, 0x33000001, 0x38800000,
  ];
  for (let exp = 0; exp < 256; exp++) {
    for (const tail of [0, 1, 0xfff, 0x1000, 0x1001, 0x2fff, 0x3000, 0x7fff, 0x8000, 0x8001, 0x18000, 0x7fffff]) {
      for (const sign of [0, 0x80000000]) bits.push((sign | (exp << 23) | tail) >>> 0, (sign | (exp << 23) | ((random() * 0x800000) & ~0x1fff) | tail) >>> 0);
    }
  }
  for (let i = 0; i < 50000; i++) bits.push(Math.floor(random() * 2 ** 32));
  return new Uint8Array(Uint32Array.from(bits).buffer);
}

/** Every 16-bit pattern twice (in order, then shuffled), so lanes meet every neighbour. */
function half16Inputs(seed: number): Uint8Array {
  const all = Array.from({ length: 65536 }, (_, i) => i);
  return new Uint8Array(Uint16Array.from([...all, ...shuffled(65536, seededRandom(seed)).map((i) => all[i]!)]).buffer);
}

const PAIRS: [KernelDType, KernelDType][] = [
  ["float32", "float16"],
  ["float32", "bfloat16"],
  ["float16", "float32"],
  ["bfloat16", "float32"],
  ["float16", "bfloat16"],
  ["bfloat16", "float16"],
];

describe("cast kernels, bit for bit", () => {
  for (const [from, to] of PAIRS) {
    it(`${from} → ${to}: JS, WebAssembly and the dispatchers agree with the reference, NaN payloads included`, () => {
      const input = from === "float32" ? float32Inputs(11) : half16Inputs(13);
      const want = hex(castReference(input, from, to));
      const outLength = (input.byteLength / SIZE[from]) * SIZE[to];
      const js = new Uint8Array(outLength);
      castFloatInto(input, js, from, to, numberFromFloat16Bits);
      expect(hex(js) === want, "JS").toBe(true);
      const wasm = new Uint8Array(outLength);
      expect(castWasm(input, wasm, from, to)).toBe(true);
      expect(hex(wasm) === want, "WASM").toBe(true);
      const into = new Uint8Array(outLength);
      castInto(input, into, from, to);
      expect(hex(into) === want, "castInto").toBe(true);
      expect(hex(castBytes(input, from, to)) === want, "castBytes").toBe(true);
    });

    it(`${from} → ${to}: any length and alignment (the 8-lane and chunk edges)`, () => {
      const all = from === "float32" ? float32Inputs(17) : half16Inputs(19);
      for (const count of [0, 1, 7, 8, 9, 15, 17, 1023, 16383, 16384, 16385, 40001]) {
        const input = all.subarray(0, count * SIZE[from]);
        const want = hex(castReference(input, from, to));
        const src = new Uint8Array(input.byteLength + 1);
        src.set(input, 1);
        const dst = new Uint8Array(count * SIZE[to] + 3);
        castInto(src.subarray(1), dst.subarray(3), from, to);
        expect(hex(dst.subarray(3)) === want, `${count} unaligned`).toBe(true);
        const wasm = new Uint8Array(count * SIZE[to] + 1);
        castWasm(src.subarray(1), wasm.subarray(1), from, to);
        expect(hex(wasm.subarray(1)) === want, `${count} WASM`).toBe(true);
        const js = new Uint8Array(count * SIZE[to] + 1);
        castFloatInto(src.subarray(1), js.subarray(1), from, to, numberFromFloat16Bits);
        expect(hex(js.subarray(1)) === want, `${count} JS`).toBe(true);
      }
    });
  }

  it("refuse an output of the wrong size", () => {
    expect(() => castInto(new Uint8Array(16), new Uint8Array(6), "float32", "float16")).toThrow(/cast output holds 6 bytes/);
  });
});
