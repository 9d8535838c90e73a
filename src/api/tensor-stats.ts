import type { Tensor } from "../tensor/tensor.js";
import { dtypeSize, numelOf } from "../tensor/dtype.js";
import { elementReader, hasNumericAccess } from "../kernels/elements.js";
import { STREAM_CHUNK } from "../kernels/stream.js";
import { ByteTaker } from "./diff-values.js";

/**
 * A tensor's values summed up (`inspect --stats`): min and max over every element but NaN,
 * mean and population standard deviation (numpy's default) over the finite ones, and how many
 * are NaN or infinite. Read in pieces: memory stays one piece whatever the tensor's size.
 */
export interface TensorStats {
  count: number;
  min?: number;
  max?: number;
  mean?: number;
  std?: number;
  nan: number;
  inf: number;
}

/** Stats of a tensor's values; undefined for dtypes without numeric access (complex, float8). */
export async function tensorStats(tensor: Tensor): Promise<TensorStats | undefined> {
  if (!hasNumericAccess(tensor.dtype)) return undefined;
  const count = numelOf(tensor.shape);
  const size = dtypeSize(tensor.dtype);
  const perChunk = Math.max(1, Math.floor(STREAM_CHUNK / size));
  const taker = new ByteTaker(tensor.data, perChunk * size);
  const stats: TensorStats = { count, nan: 0, inf: 0 };
  let min = Infinity;
  let max = -Infinity;
  let seen = 0;
  // Welford's running mean and sum of squared deviations: stable for millions of elements.
  let finite = 0;
  let mean = 0;
  let squares = 0;
  for (let start = 0; start < count; start += perChunk) {
    const n = Math.min(perChunk, count - start);
    const value = elementReader(tensor.dtype, await taker.take(Math.ceil(n * size)));
    for (let i = 0; i < n; i++) {
      const x = value(i);
      if (Number.isNaN(x)) {
        stats.nan++;
        continue;
      }
      seen++;
      if (x < min) min = x;
      if (x > max) max = x;
      if (!Number.isFinite(x)) {
        stats.inf++;
        continue;
      }
      finite++;
      const delta = x - mean;
      mean += delta / finite;
      squares += delta * (x - mean);
    }
  }
  if (seen > 0) Object.assign(stats, { min, max });
  if (finite > 0) Object.assign(stats, { mean, std: Math.sqrt(squares / finite) });
  return stats;
}
