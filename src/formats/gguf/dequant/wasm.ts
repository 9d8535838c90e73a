import { kernelMemory, privateLayoutKernels, type Dequant, type LayoutExports } from "../../../kernels/wasm/layout-wasm.js";
import { halfTable } from "./half.js";

/*
 * The WebAssembly SIMD dequantizers (scripts/wasm-dequant.mjs) for the common block types: the
 * same bytes as the JavaScript decoders, several times faster. float16/bfloat16 output is cast
 * from the float32 in the kernels' memory by the layout kernels' casts, so only the final bytes
 * cross into JavaScript: as a view of the kernels' memory when streaming (written out while it is
 * still in cache), or copied into the caller's buffer. Each dequantizer is an instance of its own
 * (its memory holds the float16 table), taken from a pool by one stream at a time.
 */

export type DequantTarget = "float32" | "float16" | "bfloat16";

const KERNELS: Readonly<Record<string, { fn: keyof LayoutExports; bytes: number; values: number }>> = {
  Q8_0: { fn: "dequant_q8_0", bytes: 34, values: 32 },
  Q4_0: { fn: "dequant_q4_0", bytes: 18, values: 32 },
  Q4_K: { fn: "dequant_q4_k", bytes: 144, values: 256 },
  Q5_K: { fn: "dequant_q5_k", bytes: 176, values: 256 },
  Q6_K: { fn: "dequant_q6_k", bytes: 210, values: 256 },
};

/** Values per kernel call: its float32 (64 KiB) stays in cache for the cast after it. */
const CALL_VALUES = 16384;
/** Values per decoded piece: 256 KiB of float16, the sink's write size (io/sink.ts). */
export const PIECE_VALUES = 131072;
const TABLE = 0;
const INPUT = 65536 * 4;
const FLOATS = INPUT + CALL_VALUES * 2; // room for the input of any type (≤ 2 bytes per value)
const OUTPUT = FLOATS + CALL_VALUES * 4;
const END = OUTPUT + PIECE_VALUES * 4;

export interface WasmDequantizer {
  /**
   * Whole blocks of `type` (at most PIECE_VALUES values) decoded into the kernels' memory; the view
   * returned is valid until the next decode or release.
   */
  decode(type: string, blocks: Uint8Array, to: DequantTarget): Uint8Array;
  /** Gives the dequantizer back to the pool. */
  release(): void;
}

const idle: WasmDequantizer[] = [];
let available: boolean | undefined;

function create(): WasmDequantizer | undefined {
  const k = privateLayoutKernels();
  const memory = k && kernelMemory(k, END);
  if (!k || !memory) return undefined;
  const table = halfTable();
  memory.set(new Uint8Array(table.buffer, table.byteOffset, table.byteLength), TABLE);
  const self: WasmDequantizer = {
    decode(type, blocks, to) {
      const spec = KERNELS[type]!;
      const kernel = k[spec.fn] as Dequant;
      const cast = to === "float16" ? k.f32_to_f16 : to === "bfloat16" ? k.f32_to_bf16 : undefined;
      const outSize = to === "float32" ? 4 : 2;
      const count = blocks.byteLength / spec.bytes;
      const perCall = CALL_VALUES / spec.values;
      for (let first = 0; first < count; first += perCall) {
        const n = Math.min(perCall, count - first);
        const at = OUTPUT + first * spec.values * outSize;
        memory.set(blocks.subarray(first * spec.bytes, (first + n) * spec.bytes), INPUT);
        if (cast) {
          kernel(INPUT, FLOATS, n, TABLE);
          cast(FLOATS, at, n * spec.values); // a multiple of 32 values: the casts' 8-element steps fit
        } else kernel(INPUT, at, n, TABLE);
      }
      return memory.subarray(OUTPUT, OUTPUT + count * spec.values * outSize);
    },
    release() {
      idle.push(self);
    },
  };
  return self;
}

/** A dequantizer for `type`, or undefined without a kernel for it or WebAssembly SIMD. */
export function takeDequantizer(type: string): WasmDequantizer | undefined {
  if (!(type in KERNELS) || available === false) return undefined;
  const taken = idle.pop() ?? create();
  available = taken !== undefined;
  return taken;
}

/** Can `type` be dequantized here? */
export function hasWasmDequant(type: string): boolean {
  const d = takeDequantizer(type);
  d?.release();
  return d !== undefined;
}

/**
 * Decodes whole blocks of `type` into `out` (float32, float16 or bfloat16 bytes, exactly the
 * values' length) and returns true, or false (out untouched) when there is no kernel for it.
 */
export function dequantWasm(type: string, blocks: Uint8Array, out: Uint8Array, to: DequantTarget): boolean {
  const d = takeDequantizer(type);
  if (!d) return false;
  try {
    const spec = KERNELS[type]!;
    const perPiece = PIECE_VALUES / spec.values;
    const outBlock = spec.values * (to === "float32" ? 4 : 2);
    const count = blocks.byteLength / spec.bytes;
    for (let first = 0; first < count; first += perPiece) {
      const n = Math.min(perPiece, count - first);
      out.set(d.decode(type, blocks.subarray(first * spec.bytes, (first + n) * spec.bytes), to), first * outBlock);
    }
  } finally {
    d.release();
  }
  return true;
}
