import type { DType } from "../tensor/dtype.js";
import type { JsonObject } from "../tensor/checkpoint.js";
import type { LayerHint } from "../tensor/tensor.js";
import { read, type Input, type ReadOptions } from "./open.js";

export interface TensorSummary {
  name: string;
  dtype: DType;
  shape: number[];
  /** Bytes of tensor data as the file stores them. */
  bytes: number;
  /**
   * The stored element type when it differs from `dtype`: a DType the file widened (a float16
   * tensor kept as float32 in HDF5), or a packed encoding's type (GGUF's Q4_K, read as float32).
   */
  storedDtype?: DType | string;
  layer?: LayerHint;
  role?: string;
}

export interface Inspection {
  format: string;
  tensors: TensorSummary[];
  meta: JsonObject;
  warnings: string[];
}

/**
 * What a file holds: its format, tensors in source order (names flattened), meta and warnings.
 * A pickle referencing code-running globals is shown, not refused (nothing is ever executed):
 * each such global is a warning, unless `tolerateUnsafePickles: false` is passed.
 */
export async function inspect(input: Input, options: ReadOptions = {}): Promise<Inspection> {
  const checkpoint = await read(input, { ...options, tolerateUnsafePickles: options.tolerateUnsafePickles ?? true });
  try {
    return {
      format: checkpoint.format ?? "unknown",
      tensors: checkpoint.tensors.map((t) => {
        const packed = t.data.packed;
        const bytes = t.stored?.byteLength ?? packed?.blocks.byteLength ?? t.data.byteLength;
        const summary: TensorSummary = { name: t.name, dtype: t.dtype, shape: t.shape, bytes };
        if (t.stored) summary.storedDtype = t.stored.dtype;
        if (packed) summary.storedDtype = packed.scheme.slice(packed.scheme.indexOf(":") + 1);
        if (t.layer) summary.layer = t.layer;
        if (t.role) summary.role = t.role;
        return summary;
      }),
      meta: checkpoint.meta,
      warnings: checkpoint.warnings ?? [],
    };
  } finally {
    await checkpoint.close();
  }
}
