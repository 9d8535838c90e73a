import { bytesData, makeTensor, type Tensor, type LayerHint } from "../../src/tensor/tensor.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import { type DType, numelOf, dtypeSize } from "../../src/tensor/dtype.js";
import { randomBytes } from "../helpers/random.js";

export { randomBytes };

let seed = 7;
/** A tensor of random bytes (float32 values by default), distinct per call. */
export function t(name: string, shape: number[], dtype: DType = "float32", layer?: LayerHint): Tensor {
  const bytes = dtype === "float32" ? f32Bytes(numelOf(shape), seed++) : randomBytes(numelOf(shape) * dtypeSize(dtype), seed++);
  return makeTensor(name, dtype, shape, bytesData(bytes), layer ? { layer } : {});
}

/** float32 values that are small, finite and distinct. */
export function f32Bytes(count: number, s = 1): Uint8Array {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = ((i * 7919 + s * 104729) % 2003) / 1000 - 1;
  return new Uint8Array(a.buffer);
}

export function ckpt(tensors: Tensor[]): Checkpoint {
  return { format: "safetensors", tensors, meta: {} };
}

export function floats(bytes: Uint8Array): number[] {
  return Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}

/** numpy-style reference: element index → source element, for transpose checks. */
export function referencePermute(bytes: Uint8Array, shape: number[], size: number, perm: number[]): Uint8Array {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const n = numelOf(shape);
  const out = new Uint8Array(n * size);
  for (let o = 0; o < n; o++) {
    let rem = o;
    let src = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      const idx = rem % outShape[d]!;
      rem = Math.floor(rem / outShape[d]!);
      src += idx * inStrides[perm[d]!]!;
    }
    out.set(bytes.subarray(src * size, src * size + size), o * size);
  }
  return out;
}

export async function byName(c: Checkpoint): Promise<Map<string, { dtype: DType; shape: number[]; bytes: Uint8Array }>> {
  const m = new Map<string, { dtype: DType; shape: number[]; bytes: Uint8Array }>();
  for (const x of c.tensors) m.set(x.name, { dtype: x.dtype, shape: x.shape, bytes: await x.data.read() });
  return m;
}
