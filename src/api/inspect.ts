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
  /** The stored element type when the file widened it (a float16 tensor kept as float32 in HDF5). */
  storedDtype?: DType;
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
        const summary: TensorSummary = { name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.stored?.byteLength ?? t.data.byteLength };
        if (t.stored) summary.storedDtype = t.stored.dtype;
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
