import { describe, expect, it } from "vitest";
import { castBytes, castBytesReference } from "../../src/kernels/cast.js";
import { float16FromFloat32Bits } from "../../src/kernels/cast-kernels.js";
import { gatherStrided } from "../../src/kernels/strided.js";
import { permuteBytes } from "../../src/kernels/permute.js";
import type { DType } from "../../src/tensor/dtype.js";
import { randomBytes } from "../helpers/random.js";

/** The 2-D transpose the mapping asks for, through the general permute. */
const transpose2d = (bytes: Uint8Array, rows: number, cols: number, elementSize: number) => permuteBytes(bytes, [rows, cols], elementSize, [1, 0]);

// Fast kernels must agree bit for bit with the simple reference implementations.

/** float32 values that exercise rounding: random bits, plus halfway cases, subnormals, Inf and NaN. */
function float32Cases(count: number, seed: number): Uint8Array {
  const bits = new Uint32Array(randomBytes(count * 4, seed).buffer);
  const special = [
    0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x3f801000, 0x3f803000, 0x3f808000, 0x3f818000, 0x477ff000, 0x477fefff,
    0x477fe000, 0x33000000, 0x33000001, 0x33c00000, 0x38800000, 0x387fe000, 0x00000001, 0x007fffff, 0x7f7fffff, 0xff7fffff, 0x3f7fffff, 0x387ff000, 0x38000000,
    0x37800000,
  ];
  special.forEach((b, i) => (bits[i % count] = b));
  // Many values near float16's range, where the random bits above are rare.
  for (let i = special.length; i < count; i += 3) bits[i] = (bits[i]! & 0x807fffff) | ((100 + (bits[i]! % 48)) << 23);
  return new Uint8Array(bits.buffer);
}

const FLOATS: DType[] = ["float32", "float16", "bfloat16"];
const SIZE: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2 };

describe("cast kernels", () => {
  for (const from of FLOATS) {
    for (const to of FLOATS) {
      if (from === to) continue;
      it(`${from} → ${to} matches the reference on random and edge values`, () => {
        for (const count of [0, 1, 7, 1001, 65536]) {
          const input = from === "float32" ? float32Cases(count, count + 1) : randomBytes(count * SIZE[from]!, count + 7);
          if (from !== "float32") {
            // Keep NaNs canonical: the reference goes through JS numbers, which carry no payloads.
            const u = new Uint16Array(input.buffer);
            const nanExp = from === "float16" ? 0x7c00 : 0x7f80;
            for (let i = 0; i < u.length; i++)
              if ((u[i]! & nanExp) === nanExp && (u[i]! & ~(nanExp | 0x8000)) !== 0) u[i] = nanExp | (nanExp === 0x7c00 ? 0x200 : 0x40);
          } else {
            const u = new Uint32Array(input.buffer);
            for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7fffffff) > 0x7f800000) u[i] = 0x7fc00000;
          }
          expect(Buffer.from(castBytes(input, from, to)).equals(Buffer.from(castBytesReference(input, from, to)))).toBe(true);
        }
      });
    }
  }

  it("float32 → float16 agrees with the reference for every float16-range exponent and rounding tail", () => {
    const bits = new Uint32Array(1 << 16);
    for (let exp = 96; exp <= 145; exp++) {
      for (let k = 0; k < bits.length; k++) bits[k] = (k & 1 ? 0x80000000 : 0) | (exp << 23) | ((k * 2654435761) & 0x7fffff) | (k & 2 ? 0x1000 : 0);
      const input = new Uint8Array(bits.buffer.slice(0));
      expect(Buffer.from(castBytes(input, "float32", "float16")).equals(Buffer.from(castBytesReference(input, "float32", "float16")))).toBe(true);
    }
    expect(float16FromFloat32Bits(0x7fc00000)).toBe(0x7e00);
    expect(float16FromFloat32Bits(0xff800000)).toBe(0xfc00);
  });

  it("works on unaligned input", () => {
    const raw = float32Cases(513, 3);
    const shifted = new Uint8Array(raw.byteLength + 1);
    shifted.set(raw, 1);
    const input = shifted.subarray(1);
    for (const to of ["float16", "bfloat16"] as DType[]) {
      expect(Buffer.from(castBytes(input, "float32", to)).equals(Buffer.from(castBytesReference(raw, "float32", to)))).toBe(true);
    }
  });
});

describe("transpose2d", () => {
  const shapes: [number, number][] = [
    [0, 5],
    [1, 1],
    [1, 9],
    [9, 1],
    [3, 5],
    [63, 65],
    [64, 64],
    [130, 67],
    [257, 3],
  ];
  for (const elementSize of [1, 2, 4, 8, 16, 3]) {
    it(`equals the strided gather for ${elementSize}-byte elements`, () => {
      for (const [rows, cols] of shapes) {
        const input = randomBytes(rows * cols * elementSize, rows * 31 + cols);
        const expected = gatherStrided(input, elementSize, [cols, rows], [1, cols], 0);
        expect(Buffer.from(transpose2d(input, rows, cols, elementSize)).equals(Buffer.from(expected))).toBe(true);
      }
    });
  }

  it("handles unaligned input and transposes back to the original", () => {
    const raw = randomBytes(37 * 41 * 4 + 1, 9);
    const input = raw.subarray(1);
    const t = transpose2d(input, 37, 41, 4);
    expect(Buffer.from(transpose2d(t, 41, 37, 4)).equals(Buffer.from(input))).toBe(true);
  });
});
