import { bytesData, makeTensor, type LayerHint, type Tensor } from "../../src/tensor/tensor.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import { elementReader, elementWriter } from "../../src/kernels/elements.js";
import { dtypeSize } from "../../src/tensor/dtype.js";

/** Deterministic float32 values in [-1, 1) (a different stream per seed). */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x / 4294967296) * 2 - 1;
  }
  return out;
}

let seed = 1;

/** A float32 tensor of random values (or the given ones). */
export function f32(name: string, shape: number[], data?: Float32Array | number[], layer?: LayerHint): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = data ? Float32Array.from(data) : values(n, seed++);
  return makeTensor(name, "float32", shape, bytesData(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)), layer ? { layer } : {});
}

export function checkpoint(tensors: Tensor[], format = "pytorch"): Checkpoint {
  return { tensors, meta: {}, format } as Checkpoint;
}

export async function floats(t: Tensor): Promise<Float32Array> {
  const bytes = await t.data.read();
  const get = elementReader(t.dtype, bytes);
  return Float32Array.from({ length: bytes.byteLength / dtypeSize(t.dtype) }, (_, i) => get(i));
}

/** The tensor with other values, in its own dtype. */
export function withValues(t: Tensor, v: ArrayLike<number>): Tensor {
  const bytes = new Uint8Array(v.length * dtypeSize(t.dtype));
  const set = elementWriter(t.dtype, bytes);
  for (let i = 0; i < v.length; i++) set(i, v[i]!);
  return { ...t, data: bytesData(bytes) };
}

/** The same checkpoint with one tensor replaced. */
export function replaced(c: Checkpoint, name: string, by: Tensor): Checkpoint {
  if (!c.tensors.some((t) => t.name === name)) throw new Error(`no ${name} in ${c.tensors.map((t) => t.name).join(", ")}`);
  return { ...c, tensors: c.tensors.map((t) => (t.name === name ? { ...by, name } : t)) };
}

/** Reorders `count` equal blocks along the last axis of a 2-D [rows, cols] array (test-side, on purpose independent). */
export function swapColumnBlocks(v: Float32Array, rows: number, cols: number, order: number[]): Float32Array {
  const block = cols / order.length;
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < order.length; b++) for (let c = 0; c < block; c++) out[r * cols + b * block + c] = v[r * cols + order[b]! * block + c]!;
  return out;
}
