import { kernelMemory, layoutKernels, type Cast } from "./layout-wasm.js";
import { dtypeSize } from "../../tensor/dtype.js";

// float32 ⇄ float16/bfloat16 casts in WebAssembly, streamed through the kernels' memory in chunks
// that stay in cache. float16 ⇄ bfloat16 goes through float32 bits, as the JS kernel does.

export type WasmCastType = "float32" | "float16" | "bfloat16";

/** Elements per chunk (a multiple of 8: the kernels do 8 at a time). */
const CHUNK = 16384;

/** The kernel steps of a cast, each from the previous step's output. */
function steps(from: WasmCastType, to: WasmCastType): Cast[] | undefined {
  const k = layoutKernels();
  if (!k) return undefined;
  const toF32 = from === "float16" ? [k.f16_to_f32] : from === "bfloat16" ? [k.bf16_to_f32] : [];
  const fromF32 = to === "float16" ? [k.f32_to_f16] : to === "bfloat16" ? [k.f32_to_bf16] : [];
  return [...toF32, ...fromF32];
}

/** Casts `src` into `dst` and returns true, or false (dst untouched) without WebAssembly. */
export function castWasm(src: Uint8Array, dst: Uint8Array, from: WasmCastType, to: WasmCastType): boolean {
  const chain = steps(from, to);
  if (!chain || chain.length === 0) return false;
  const inSize = dtypeSize(from);
  const outSize = dtypeSize(to);
  const count = src.byteLength / inSize;
  // Regions: input, float32 bits between two steps, output; each holds a whole chunk.
  const region = CHUNK * 4;
  const memory = kernelMemory(layoutKernels()!, 3 * region);
  if (!memory) return false;
  for (let first = 0; first < count; first += CHUNK) {
    const n = Math.min(CHUNK, count - first);
    memory.set(src.subarray(first * inSize, (first + n) * inSize), 0);
    const rounded = (n + 7) & ~7;
    let at = 0;
    chain.forEach((kernel, i) => {
      const next = i === chain.length - 1 ? 2 * region : region;
      kernel(at, next, rounded);
      at = next;
    });
    dst.set(memory.subarray(at, at + n * outSize), first * outSize);
  }
  return true;
}
