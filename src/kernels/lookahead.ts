import { turnIfDue } from "../util/event-loop.js";
import { isComputedData, type Tensor, type TensorData } from "../tensor/tensor.js";

/**
 * The same tensors, where reading one starts producing a later one, so its work overlaps with
 * writing the current one.
 * - Data that can prefetch (kernels writing into recycled buffers) always does, on this thread
 *   too: the kernel runs while the current tensor's writes are on libuv's threads. The next such
 *   tensor not yet asked for is prefetched, past any others between, one at a time: a writer
 *   that reads the small tensors first (pickles) and streams the big ones later must not start
 *   them all.
 * - Other computed data (a combine, a decompression) is computed ahead, when it is the very next
 *   tensor, only with `computeAhead` (a kernel worker can do it beside this thread).
 * Bytes produced ahead and never asked for are dropped.
 */
export function withLookahead(tensors: Tensor[], computeAhead = true): Tensor[] {
  let ahead: { index: number; bytes: Promise<Uint8Array> } | undefined;
  let prefetched: number | undefined;
  const next = nextPrefetchable(tensors);

  /** `streaming`: the writer streams tensors in its output order, so one before it was skipped. */
  const prefetchAfter = (index: number, streaming: boolean): void => {
    next.asked(index);
    if (prefetched !== undefined && (index === prefetched || (streaming && index > prefetched))) prefetched = undefined;
    if (prefetched !== undefined) return;
    const k = next.after(index);
    if (k !== undefined) {
      tensors[k]!.data.prefetch!();
      prefetched = k;
    }
  };
  const startAfter = (index: number, streaming: boolean): void => {
    prefetchAfter(index, streaming);
    const next = tensors[index + 1];
    if (!computeAhead || !next || next.data.prefetch || !isComputedData(next.data) || ahead?.index === index + 1) return;
    const bytes = next.data.read();
    bytes.catch(() => {}); // reported when (if) the writer asks for this tensor
    ahead = { index: index + 1, bytes };
  };
  const takeAhead = (index: number): Promise<Uint8Array> | undefined => {
    if (ahead?.index !== index) return undefined;
    const { bytes } = ahead;
    ahead = undefined;
    return bytes;
  };

  // Tensors sharing one data object (tied weights) keep sharing it: writers store such data once.
  const wrapped = new Map<TensorData, TensorData>();
  return tensors.map((tensor, index) => {
    const source = tensor.data;
    const seen = wrapped.get(source);
    if (seen) return { ...tensor, data: seen };
    const data: TensorData = {
      byteLength: source.byteLength,
      ...(source.crc32 !== undefined ? { crc32: source.crc32 } : {}),
      ...(source.packed ? { packed: source.packed } : {}),
      ...(source.prefetch ? { prefetch: () => source.prefetch!() } : {}),
      ...(source.readRange ? { readRange: (start: number, end: number) => source.readRange!(start, end) } : {}),
      ...(source.readInto ? { readInto: (target: Uint8Array) => source.readInto!(target) } : {}),
      ...(source.lend
        ? {
            lend: <T>(use: (bytes: Uint8Array) => T | Promise<T>) => {
              startAfter(index, true);
              return source.lend!(use);
            },
          }
        : {}),
      read() {
        // Every writer reads its tensors through here: 10^6 tiny ones are a long synchronous loop.
        const turn = turnIfDue();
        if (turn) return turn.then(() => data.read());
        const bytes = takeAhead(index) ?? source.read();
        startAfter(index, false);
        return bytes;
      },
      async *chunks(maxBytes: number) {
        await turnIfDue();
        const early = takeAhead(index);
        startAfter(index, true);
        if (!early) {
          yield* source.chunks(maxBytes);
          return;
        }
        const bytes = await early;
        for (let at = 0; at < bytes.byteLength; at += maxBytes) yield bytes.subarray(at, Math.min(at + maxBytes, bytes.byteLength));
      },
    };
    if (source.streamChunks) {
      data.streamChunks = (maxBytes: number) => {
        startAfter(index, true);
        return source.streamChunks!(maxBytes);
      };
    }
    wrapped.set(source, data);
    return { ...tensor, data };
  });
}

/**
 * The first tensor after an index whose data can prefetch and that the writer has not asked for
 * yet, in amortized constant time: a scan of the rest of the list per tensor made 10^5 tensors
 * take seconds and 10^6 hours. Positions of asked tensors are skipped with a union-find's
 * "next free" links (path halving), so each is stepped over about once.
 */
function nextPrefetchable(tensors: Tensor[]): { asked(index: number): void; after(index: number): number | undefined } {
  const indices: number[] = [];
  const positionOf = new Map<number, number>();
  tensors.forEach((t, i) => {
    if (t.data.prefetch) {
      positionOf.set(i, indices.length);
      indices.push(i);
    }
  });
  const free = Int32Array.from({ length: indices.length + 1 }, (_, j) => j);
  const find = (j: number): number => {
    while (free[j] !== j) {
      free[j] = free[free[j]!]!;
      j = free[j]!;
    }
    return j;
  };
  return {
    asked(index) {
      const j = positionOf.get(index);
      if (j !== undefined) free[j] = j + 1;
    },
    after(index) {
      let lo = 0;
      let hi = indices.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (indices[mid]! <= index) lo = mid + 1;
        else hi = mid;
      }
      const j = find(lo);
      return j < indices.length ? indices[j] : undefined;
    },
  };
}
