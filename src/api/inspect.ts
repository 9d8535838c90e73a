import type { DType } from "../tensor/dtype.js";
import type { JsonObject } from "../tensor/checkpoint.js";
import type { LayerHint } from "../tensor/tensor.js";
import { read, type Input, type ReadOptions } from "./open.js";
import { tensorStats, type TensorStats } from "./tensor-stats.js";

export type { TensorStats } from "./tensor-stats.js";

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
  /** With `stats: true`: min, max, mean, std, NaN and Inf counts of its values. */
  stats?: TensorStats;
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
export async function inspect(input: Input, options: ReadOptions & { stats?: boolean } = {}): Promise<Inspection> {
  const checkpoint = await read(input, { ...options, tolerateUnsafePickles: options.tolerateUnsafePickles ?? true });
  try {
    const tensors: TensorSummary[] = [];
    for (const t of checkpoint.tensors) {
      const packed = t.data.packed;
      const bytes = t.stored?.byteLength ?? packed?.blocks.byteLength ?? t.data.byteLength;
      const summary: TensorSummary = { name: t.name, dtype: t.dtype, shape: t.shape, bytes };
      if (t.stored) summary.storedDtype = t.stored.dtype;
      if (packed) summary.storedDtype = packed.scheme.slice(packed.scheme.indexOf(":") + 1);
      if (t.layer) summary.layer = t.layer;
      if (t.role) summary.role = t.role;
      // One tensor at a time, streamed: a multi-GB file is never held.
      const stats = options.stats ? await tensorStats(t) : undefined;
      if (stats) summary.stats = stats;
      tensors.push(summary);
    }
    return {
      format: checkpoint.format ?? "unknown",
      tensors,
      meta: checkpoint.meta,
      warnings: checkpoint.warnings ?? [],
    };
  } finally {
    await checkpoint.close();
  }
}
