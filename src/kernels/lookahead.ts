import { turnIfDue } from "../util/event-loop.js";
import { isComputedData, type PackedForm, type Tensor, type TensorData } from "../tensor/tensor.js";

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
  // Nothing to start early (file ranges, bytes in memory): the tensors as they are, without a copy
  // and a wrapper each (~100 B of 10^6 tiny tensors). Their reads give the event loop turns themselves.
  if (!tensors.some((t) => t.data.prefetch || (computeAhead && isComputedData(t.data)))) return tensors;
  const plan = new Lookahead(tensors, computeAhead);
  // Tensors sharing one data object (tied weights) keep sharing it: writers store such data once.
  const wrapped = new Map<TensorData, TensorData>();
  return tensors.map((tensor, index) => {
    let data = wrapped.get(tensor.data);
    if (!data) {
      data = new AheadData(index, plan);
      wrapped.set(tensor.data, data);
    }
    return { ...tensor, data };
  });
}

/** What the wrapped tensors share: which tensor was prefetched or computed ahead. */
class Lookahead {
  private ahead: { index: number; bytes: Promise<Uint8Array> } | undefined;
  private prefetched: number | undefined;
  private readonly next: ReturnType<typeof nextPrefetchable>;

  constructor(
    private readonly tensors: Tensor[],
    private readonly computeAhead: boolean,
  ) {
    this.next = nextPrefetchable(tensors);
  }

  /** `streaming`: the writer streams tensors in its output order, so one before it was skipped. */
  private prefetchAfter(index: number, streaming: boolean): void {
    this.next.asked(index);
    const prefetched = this.prefetched;
    if (prefetched !== undefined && (index === prefetched || (streaming && index > prefetched))) this.prefetched = undefined;
    if (this.prefetched !== undefined) return;
    const k = this.next.after(index);
    if (k !== undefined) {
      this.tensors[k]!.data.prefetch!();
      this.prefetched = k;
    }
  }

  dataAt(index: number): TensorData {
    return this.tensors[index]!.data;
  }

  startAfter(index: number, streaming: boolean): void {
    this.prefetchAfter(index, streaming);
    const next = this.tensors[index + 1];
    if (!this.computeAhead || !next || next.data.prefetch || !isComputedData(next.data) || this.ahead?.index === index + 1) return;
    const bytes = next.data.read();
    bytes.catch(() => {}); // reported when (if) the writer asks for this tensor
    this.ahead = { index: index + 1, bytes };
  }

  takeAhead(index: number): Promise<Uint8Array> | undefined {
    if (this.ahead?.index !== index) return undefined;
    const { bytes } = this.ahead;
    this.ahead = undefined;
    return bytes;
  }
}

/**
 * One tensor's data seen through the lookahead: an index into the plan, nothing else (10^6 tiny
 * tensors make 10^6 of these). Methods live on the prototype, and the optional ones are getters
 * giving a shared function only when the source has that method (writers test for them), not
 * closures or fields: closures per tensor held ~0.4 KiB each, fields 8 bytes each.
 */
class AheadData implements TensorData {
  constructor(
    readonly index: number,
    readonly plan: Lookahead,
  ) {}

  get source(): TensorData {
    return this.plan.dataAt(this.index);
  }
  get byteLength(): number {
    return this.source.byteLength;
  }
  get crc32(): number | undefined {
    return this.source.crc32;
  }
  get packed(): PackedForm | undefined {
    return this.source.packed;
  }
  get prefetch(): (() => void) | undefined {
    return this.source.prefetch ? prefetchSource : undefined;
  }
  get readRange(): ((start: number, end: number) => Promise<Uint8Array>) | undefined {
    return this.source.readRange ? readSourceRange : undefined;
  }
  get readInto(): ((target: Uint8Array) => Promise<void>) | undefined {
    return this.source.readInto ? readSourceInto : undefined;
  }
  get lend(): (<T>(use: (bytes: Uint8Array) => T | Promise<T>) => Promise<T>) | undefined {
    return this.source.lend ? lendAhead : undefined;
  }
  get streamChunks(): ((maxBytes: number) => AsyncIterable<Uint8Array>) | undefined {
    return this.source.streamChunks ? streamAhead : undefined;
  }

  read(): Promise<Uint8Array> {
    // Every writer reads its tensors through here: 10^6 tiny ones are a long synchronous loop.
    const turn = turnIfDue();
    if (turn) return turn.then(() => this.read());
    const bytes = this.plan.takeAhead(this.index) ?? this.source.read();
    this.plan.startAfter(this.index, false);
    return bytes;
  }

  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    await turnIfDue();
    const early = this.plan.takeAhead(this.index);
    this.plan.startAfter(this.index, true);
    if (!early) {
      yield* this.source.chunks(maxBytes);
      return;
    }
    const bytes = await early;
    for (let at = 0; at < bytes.byteLength; at += maxBytes) yield bytes.subarray(at, Math.min(at + maxBytes, bytes.byteLength));
  }
}

function prefetchSource(this: AheadData): void {
  this.source.prefetch!();
}

function readSourceRange(this: AheadData, start: number, end: number): Promise<Uint8Array> {
  return this.source.readRange!(start, end);
}

function readSourceInto(this: AheadData, target: Uint8Array): Promise<void> {
  return this.source.readInto!(target);
}

function lendAhead<T>(this: AheadData, use: (bytes: Uint8Array) => T | Promise<T>): Promise<T> {
  this.plan.startAfter(this.index, true);
  return this.source.lend!(use);
}

function streamAhead(this: AheadData, maxBytes: number): AsyncIterable<Uint8Array> {
  this.plan.startAfter(this.index, true);
  return this.source.streamChunks!(maxBytes);
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
