import { numberFromFloat16Bits } from "../../../kernels/cast.js";

let table: Float32Array | undefined;

/** float16 bits → float32 value, through a 64 Ki-entry table built on first use. */
export function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) table[bits] = numberFromFloat16Bits(bits);
  }
  return table;
}

/** The float16 at `at` (little-endian) as a number. */
export function halfAt(bytes: Uint8Array, at: number): number {
  return halfTable()[bytes[at]! | (bytes[at + 1]! << 8)]!;
}

/** A block decoder: `blocks` holds whole blocks back to back, `out` one float per value. */
export type BlockDecoder = (blocks: Uint8Array, out: Float32Array) => void;

export const f32 = Math.fround;
