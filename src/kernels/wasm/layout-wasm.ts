import { LAYOUT_KERNELS_WASM_BASE64 } from "./layout-kernels-bytes.js";

// The WebAssembly layout kernels (scripts/build-wasm-kernels.mjs), compiled once from the inlined
// bytes: a file read would not survive bundling for the browser. Everything else here moves bytes
// between the caller's buffers and the kernels' linear memory, a bounded window at a time.

interface LayoutExports {
  memory: WebAssembly.Memory;
  transpose8: Transpose;
  transpose16: Transpose;
  transpose32: Transpose;
  transpose64: Transpose;
  f32_to_bf16: Cast;
  f32_to_f16: Cast;
  bf16_to_f32: Cast;
  f16_to_f32: Cast;
  dequant_q8_0: Dequant;
  dequant_q4_0: Dequant;
  dequant_q4_k: Dequant;
  dequant_q5_k: Dequant;
  dequant_q6_k: Dequant;
}

/** (src, dst, rows, cols, srcStride, dstStride, tileRows, tileCols); addresses in bytes, the rest in elements. */
type Transpose = (src: number, dst: number, rows: number, cols: number, ss: number, ds: number, tr: number, tc: number) => void;
/** (src, dst, count): count rounded up to a multiple of 8 elements, the room for them provided. */
type Cast = (src: number, dst: number, n: number) => void;
/** (src, dst, blocks, table): GGUF blocks to float32; `table` is the address of the float16 → float32 table (scripts/wasm-dequant.mjs). */
type Dequant = (src: number, dst: number, blocks: number, table: number) => void;

let kernels: LayoutExports | null | undefined;
let compiled: WebAssembly.Module | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The kernels, or undefined where WebAssembly SIMD is missing or turned off
 * (WEIGHTBRIDGE_WASM=0); callers then use the JavaScript kernels, which give the same bytes.
 */
export function layoutKernels(): LayoutExports | undefined {
  if (kernels === undefined) {
    kernels = null;
    const off = typeof process !== "undefined" && process.env?.WEIGHTBRIDGE_WASM === "0";
    if (!off && typeof WebAssembly === "object") {
      try {
        compiled = new WebAssembly.Module(decodeBase64(LAYOUT_KERNELS_WASM_BASE64));
        kernels = new WebAssembly.Instance(compiled, {}).exports as unknown as LayoutExports;
      } catch {
        // No SIMD, or a browser refusing synchronous compilation: the JS kernels do the work.
      }
    }
  }
  return kernels ?? undefined;
}

/**
 * Another instance of the kernels, with a memory of its own: for work that keeps data in the
 * kernels' memory across awaits, where the shared instance's memory may be reused meanwhile.
 */
export function privateLayoutKernels(): LayoutExports | undefined {
  if (!layoutKernels()) return undefined;
  return new WebAssembly.Instance(compiled!, {}).exports as unknown as LayoutExports;
}

/** The transpose kernel of an instance for elements of `size` bytes, if it has one. */
export function transposeKernel(k: LayoutExports, size: number): Transpose | undefined {
  return size === 1 ? k.transpose8 : size === 2 ? k.transpose16 : size === 4 ? k.transpose32 : size === 8 ? k.transpose64 : undefined;
}

/**
 * The kernels' memory as bytes, grown to at least `length` (it never shrinks; callers bound it), or
 * undefined when it cannot grow that far: the caller then leaves the work to the JS kernels.
 */
export function kernelMemory(k: LayoutExports, length: number): Uint8Array | undefined {
  const have = k.memory.buffer.byteLength;
  if (have < length) {
    try {
      k.memory.grow(Math.ceil((length - have) / 65536));
    } catch {
      return undefined;
    }
  }
  return new Uint8Array(k.memory.buffer);
}

export type { LayoutExports, Transpose, Cast, Dequant };
