import type { Tensor, TensorData } from "../tensor/tensor.js";
import { type DType, dtypeSize, isFloating, isPacked, numelOf } from "../tensor/dtype.js";
import { elementReader, hasNumericAccess } from "../kernels/elements.js";
import { STREAM_CHUNK } from "../kernels/stream.js";
import { concatBytes } from "../util/bytes.js";

/** Hands out exactly the requested number of bytes from a tensor's chunk stream. */
export class ByteTaker {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  constructor(data: TensorData, chunk: number) {
    this.iterator = data.chunks(chunk)[Symbol.asyncIterator]();
  }
  async take(n: number): Promise<Uint8Array> {
    while (this.pendingBytes < n) {
      const next = await this.iterator.next();
      if (next.done) break;
      this.pending.push(next.value);
      this.pendingBytes += next.value.byteLength;
    }
    const all = this.pending.length === 1 ? this.pending[0]! : concatBytes(this.pending);
    const out = all.subarray(0, Math.min(n, all.byteLength));
    const rest = all.subarray(out.byteLength);
    this.pending = rest.byteLength ? [rest] : [];
    this.pendingBytes = rest.byteLength;
    return out;
  }
}

export interface ValueComparison {
  /** Elements whose bits (bit-exact) or values (with tolerances) differ. */
  differing: number;
  /** Index of the first differing element. */
  firstIndex?: number;
  /** Largest |a − b| and |a − b| / |b| over numeric elements (NaN pairs aside). */
  maxAbs: number;
  maxRel: number;
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

function bytesEqual(a: Uint8Array, b: Uint8Array, at: number, size: number): boolean {
  for (let k = 0; k < size; k++) if (a[at + k] !== b[at + k]) return false;
  return true;
}

/**
 * Compares two tensors' elements, streaming both. Bit-exact unless `tolerance` is given, in
 * which case floating elements are equal when |a − b| ≤ atol + rtol·|b| (numpy's allclose;
 * NaN equals NaN) and other dtypes must match exactly. `a` and `b` may differ in floating dtype
 * only in tolerance mode.
 */
export async function compareValues(a: Tensor, b: Tensor, tolerance?: Tolerance): Promise<ValueComparison> {
  const count = numelOf(a.shape);
  const sizeA = dtypeSize(a.dtype);
  const sizeB = dtypeSize(b.dtype);
  const perChunk = Math.max(1, Math.floor(STREAM_CHUNK / Math.max(sizeA, sizeB)));
  const takeA = new ByteTaker(a.data, perChunk * sizeA);
  const takeB = new ByteTaker(b.data, perChunk * sizeB);
  const numeric = hasNumericAccess(a.dtype) && hasNumericAccess(b.dtype);
  const byValue = tolerance !== undefined && isFloating(a.dtype) && isFloating(b.dtype);
  const result: ValueComparison = { differing: 0, maxAbs: 0, maxRel: 0 };
  for (let start = 0; start < count; start += perChunk) {
    const n = Math.min(perChunk, count - start);
    // Chunks hold an even count, so a packed 4-bit tensor's chunks start on a byte.
    const [ca, cb] = [await takeA.take(Math.ceil(n * sizeA)), await takeB.take(Math.ceil(n * sizeB))];
    if (!byValue && a.dtype === b.dtype && equalBytes(ca, cb)) continue;
    const ra = numeric ? elementReader(a.dtype, ca) : undefined;
    const rb = numeric ? elementReader(b.dtype, cb) : undefined;
    for (let i = 0; i < n; i++) {
      let same: boolean;
      if (ra && rb) {
        const x = ra(i);
        const y = rb(i);
        const bothNaN = Number.isNaN(x) && Number.isNaN(y);
        const diff = x === y || bothNaN ? 0 : Math.abs(x - y);
        if (!Number.isNaN(diff)) {
          result.maxAbs = Math.max(result.maxAbs, diff);
          if (diff > 0) result.maxRel = Math.max(result.maxRel, y === 0 ? Infinity : diff / Math.abs(y));
        }
        if (byValue) same = bothNaN || x === y || diff <= tolerance!.atol + tolerance!.rtol * Math.abs(y);
        else same = isPacked(a.dtype) ? x === y : bytesEqual(ca, cb, i * sizeA, sizeA);
      } else same = bytesEqual(ca, cb, i * sizeA, sizeA);
      if (!same) {
        result.differing++;
        result.firstIndex ??= start + i;
      }
    }
  }
  return result;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Dtypes that tolerance mode compares by value across each other. */
export function comparableDTypes(a: DType, b: DType, tolerance: boolean): boolean {
  return a === b || (tolerance && isFloating(a) && isFloating(b) && hasNumericAccess(a) && hasNumericAccess(b));
}
