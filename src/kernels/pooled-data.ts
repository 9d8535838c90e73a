import { WeightbridgeError } from "../errors.js";
import { giveScratch, takeScratch } from "../util/scratch.js";
import type { TensorData } from "../tensor/tensor.js";

// Tensor data computed by a kernel into a recycled output buffer. A writer that streams it
// (streamChunks) hands the buffer back by asking for the next chunk after the last one, so the
// next tensor's output lands in memory that is already faulted in. Whoever calls read() or
// chunks() may keep the bytes: the buffer is then theirs and never recycled.

/** Fills `out` (exactly byteLength bytes, contents undefined) or returns other bytes it made. */
export type PooledCompute = (out: Uint8Array) => Promise<Uint8Array>;

interface Computed {
  bytes: Uint8Array;
  out: Uint8Array;
}

class PooledComputedData implements TensorData {
  private ahead?: Promise<Computed>;

  constructor(
    readonly byteLength: number,
    private readonly compute: PooledCompute,
  ) {}

  private start(): Promise<Computed> {
    const out = takeScratch(this.byteLength);
    return this.compute(out).then((bytes) => {
      if (bytes.byteLength !== this.byteLength) {
        throw new WeightbridgeError("corrupt", `tensor data is ${bytes.byteLength} bytes, expected ${this.byteLength}`);
      }
      return { bytes, out };
    });
  }

  /** The computation started by prefetch(), or a new one. */
  private take(): Promise<Computed> {
    const ahead = this.ahead;
    this.ahead = undefined;
    return ahead ?? this.start();
  }

  prefetch(): void {
    if (this.ahead) return;
    this.ahead = this.start();
    this.ahead.catch(() => {}); // reported when (if) the bytes are asked for
  }

  async read(): Promise<Uint8Array> {
    const { bytes, out } = await this.take();
    if (bytes.buffer !== out.buffer) giveScratch(out);
    return bytes;
  }

  async lend<T>(use: (bytes: Uint8Array) => T | Promise<T>): Promise<T> {
    const { bytes, out } = await this.take();
    const result = await use(bytes);
    giveScratch(out); // only after a clean finish: on a failure nobody can be sure it is unused
    return result;
  }

  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    const bytes = await this.read();
    for (let at = 0; at < bytes.byteLength; at += maxBytes) yield bytes.subarray(at, Math.min(at + maxBytes, bytes.byteLength));
  }

  async *streamChunks(maxBytes: number): AsyncIterable<Uint8Array> {
    const { bytes, out } = await this.take();
    try {
      for (let at = 0; at < bytes.byteLength; at += maxBytes) yield bytes.subarray(at, Math.min(at + maxBytes, bytes.byteLength));
    } finally {
      // The consumer is past the last chunk (or abandoned the stream): nobody looks at out any more.
      giveScratch(out);
    }
  }
}

/** Tensor data a kernel computes into a recycled buffer (see above). */
export function pooledComputedData(byteLength: number, compute: PooledCompute): TensorData {
  return new PooledComputedData(byteLength, compute);
}
