import { type DType, DTYPES, byteLengthOf } from "./dtype.js";
import { readRangeInto, type ByteSource } from "../io/source.js";
import { WeightbridgeError, type ErrorLocation } from "../errors.js";
import { readAhead } from "../io/read-ahead.js";
import { turnIfDue } from "../util/event-loop.js";
import type { Framework, LayerKind } from "./layer-kinds.js";

/**
 * The bytes of one tensor: contiguous, row-major, little-endian. The length is known up front;
 * the bytes are read only when asked for, whole or in chunks.
 */
export interface TensorData {
  readonly byteLength: number;
  read(): Promise<Uint8Array>;
  /** The same bytes in pieces of at most `maxBytes`, for streaming big tensors. */
  chunks(maxBytes: number): AsyncIterable<Uint8Array>;
  /**
   * Like chunks(), but a chunk is valid only until the next one is asked for (buffers are
   * recycled and the next chunk is read ahead). For writers that write each chunk out at once.
   */
  streamChunks?(maxBytes: number): AsyncIterable<Uint8Array>;
  /**
   * CRC-32 of exactly these bytes when the source already stores it (a whole zip record), so a
   * zip writer copying them unchanged need not compute it (and passes on any corruption as
   * detectable, instead of blessing it with a fresh checksum).
   */
  readonly crc32?: number;
  /**
   * Bytes [start, end) of the tensor without reading the rest, when the data is a plain range of
   * a source or memory (for checks that sample a few rows of a big tensor).
   */
  readRange?(start: number, end: number): Promise<Uint8Array>;
  /**
   * Reads all the bytes into `target` (exactly byteLength long), when the data is a range of a
   * source that can read into a caller's buffer: lets kernels read into recycled memory.
   */
  readInto?(target: Uint8Array): Promise<void>;
  /**
   * Starts producing the bytes now (reading, running a kernel), so that the next read() or stream
   * finds them ready: called on the next tensor while the current one is being written.
   */
  prefetch?(): void;
  /**
   * Runs `use` on all the bytes at once in memory the data lends (recycled once `use` is done), so
   * writers needing whole tensors fault in no new buffer per tensor. `use` must not keep them.
   */
  lend?<T>(use: (bytes: Uint8Array) => T | Promise<T>): Promise<T>;
  /**
   * The packed form these bytes are decoded from (a GGUF block-quantized tensor), so a writer that
   * stores that form copies the blocks unchanged instead of re-encoding the decoded values.
   */
  readonly packed?: PackedForm;
  /**
   * The same values in another floating dtype, when the data makes them directly (GGUF blocks
   * decoded straight to float16) rather than through its own dtype and a cast: castTensor asks
   * this first. The bytes must be exactly those of the cast.
   */
  castTo?(dtype: DType): TensorData | undefined;
}

/**
 * A tensor stored in a packed encoding the IR has no dtype for (GGUF's Q4_K, IQ2_XS ...): the
 * tensor's dtype and bytes are the exact decoded values (float32), and `blocks` keeps the file's
 * own bytes. It lives on the data, not on the tensor, on purpose: a transform that makes new data
 * (cast, transpose, fill) drops it, so a stale packing can never describe changed values, while a
 * rename or a reshape keeps the same data and so the blocks. Writers must check `scheme` and that
 * the tensor's shape still fits it (a GGUF row must stay a whole number of blocks).
 */
export interface PackedForm {
  /** The encoding as `<format>:<type>` (`ggml:Q4_K`). */
  readonly scheme: string;
  /** The packed bytes, as stored. */
  readonly blocks: TensorData;
}

/** What the source knows about the layer that owns a tensor. */
export interface LayerHint {
  /** The layer's kind in the IR's one vocabulary (linear, conv2d, batchnorm, lstm, mha ...: layer-kinds.ts). */
  kind?: LayerKind;
  /** The layer's path in its framework (`features.0`, `dense_1`). */
  path?: string;
  /** The framework whose layout the tensor is in. */
  framework?: Framework;
  /** The framework's own class or op name (Conv2d, Dense, conv2d, Gemm). */
  className?: string;
  /** Extra facts a mapping rule may use (ONNX transB, Keras data_format ...). */
  attributes?: Record<string, unknown>;
}

export interface Tensor {
  /** The source's own dotted name, nested keys flattened with `.`. */
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
  layer?: LayerHint;
  /** parameter, buffer, constant, optimizer-state ... when the source says so. */
  role?: string;
  /** How the file stores it when that differs from `dtype` (float16 widened to float32 in HDF5). */
  stored?: { dtype: DType; byteLength: number };
}

class BytesData implements TensorData {
  constructor(private readonly bytes: Uint8Array) {}
  get byteLength(): number {
    return this.bytes.byteLength;
  }
  async read(): Promise<Uint8Array> {
    // 10^6 tiny tensors read one after another are a long synchronous loop: signals need turns.
    await turnIfDue();
    return this.bytes;
  }
  async readRange(start: number, end: number): Promise<Uint8Array> {
    return this.bytes.subarray(start, end);
  }
  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    await turnIfDue();
    for (let at = 0; at < this.bytes.byteLength; at += maxBytes) {
      yield this.bytes.subarray(at, Math.min(at + maxBytes, this.bytes.byteLength));
    }
  }
}

class SourceRangeData implements TensorData {
  /** Set only when known (a field costs 8 bytes on each of 10^6 tiny tensors). */
  declare readonly crc32?: number;
  constructor(
    private readonly source: ByteSource,
    private readonly offset: number,
    readonly byteLength: number,
    crc32?: number,
  ) {
    if (crc32 !== undefined) this.crc32 = crc32;
  }
  read(): Promise<Uint8Array> {
    return this.source.read(this.offset, this.byteLength);
  }
  async readInto(target: Uint8Array): Promise<void> {
    if (target.byteLength !== this.byteLength) {
      throw new WeightbridgeError("corrupt", `reading ${this.byteLength} bytes into a buffer of ${target.byteLength}`);
    }
    await readRangeInto(this.source, this.offset, target);
  }
  readRange(start: number, end: number): Promise<Uint8Array> {
    if (start < 0 || end > this.byteLength || start > end) {
      throw new WeightbridgeError("corrupt", `byte range ${start}..${end} outside a tensor of ${this.byteLength} bytes`);
    }
    return this.source.read(this.offset + start, end - start);
  }
  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    for (let at = 0; at < this.byteLength; at += maxBytes) {
      yield await this.source.read(this.offset + at, Math.min(maxBytes, this.byteLength - at));
    }
  }
  streamChunks(maxBytes: number): AsyncIterable<Uint8Array> {
    return readAhead(this.source, this.offset, this.byteLength, maxBytes);
  }
}

class ComputedData implements TensorData {
  constructor(
    readonly byteLength: number,
    private readonly compute: () => Promise<Uint8Array>,
  ) {}
  read(): Promise<Uint8Array> {
    // Not cached across calls on purpose for big data; callers read once.
    return this.compute().then((bytes) => {
      if (bytes.byteLength !== this.byteLength) {
        throw new WeightbridgeError("corrupt", `tensor data is ${bytes.byteLength} bytes, expected ${this.byteLength}`);
      }
      return bytes;
    });
  }
  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    const bytes = await this.read();
    for (let at = 0; at < bytes.byteLength; at += maxBytes) {
      yield bytes.subarray(at, Math.min(at + maxBytes, bytes.byteLength));
    }
  }
}

/** Tensor data already in memory. */
export function bytesData(bytes: Uint8Array): TensorData {
  return new BytesData(bytes);
}

/** Tensor data that is a contiguous byte range of a source: streamed with positioned reads. */
export function sourceData(source: ByteSource, offset: number, byteLength: number, crc32?: number): TensorData {
  return new SourceRangeData(source, offset, byteLength, crc32);
}

/**
 * Tensor data produced as a stream of pieces (slabs of a dataset, decoded text): read() gathers
 * `chunks(readPieceBytes)` into one buffer and checks that they add up to `byteLength`.
 */
export function streamedData(
  byteLength: number,
  chunks: (maxBytes: number) => AsyncIterable<Uint8Array>,
  readPieceBytes: number,
  location: ErrorLocation = {},
): TensorData {
  return {
    byteLength,
    async read() {
      const out = new Uint8Array(byteLength);
      let at = 0;
      for await (const piece of chunks(readPieceBytes)) {
        if (at + piece.byteLength > byteLength) throw new WeightbridgeError("corrupt", `read more than the ${byteLength} bytes expected`, location);
        out.set(piece, at);
        at += piece.byteLength;
      }
      if (at !== byteLength) throw new WeightbridgeError("corrupt", `read ${at} bytes, expected ${byteLength}`, location);
      return out;
    },
    chunks,
  };
}

/** Is this data produced by computedData (so reading it ahead costs CPU, not just I/O)? */
export function isComputedData(data: TensorData): boolean {
  return data instanceof ComputedData;
}

/** Tensor data produced on demand (gathered views, casts, layout transforms). */
export function computedData(byteLength: number, compute: () => Promise<Uint8Array>): TensorData {
  return new ComputedData(byteLength, compute);
}

/** Builds a tensor, checking that the data length matches dtype and shape. */
export function makeTensor(name: string, dtype: DType, shape: number[], data: TensorData, extra: Partial<Tensor> = {}): Tensor {
  // The library's callers are scripts: a misspelt dtype or a fractional shape is their mistake, said so.
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new WeightbridgeError("usage", `unknown dtype '${String(dtype)}' (one of ${DTYPES.join(", ")})`, { tensor: name });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new WeightbridgeError("usage", `shape [${Array.isArray(shape) ? shape.join(", ") : String(shape)}] must be a list of non-negative integers`, {
      tensor: name,
    });
  }
  const expected = byteLengthOf(dtype, shape);
  if (data.byteLength !== expected) {
    throw new WeightbridgeError("corrupt", `${dtype}[${shape.join(", ")}] needs ${expected} bytes but has ${data.byteLength}`, { tensor: name });
  }
  return { ...extra, name, dtype, shape, data };
}

/** Contiguous row-major strides, in elements (PyTorch's rule: size 0 counts as 1). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= Math.max(shape[i]!, 1);
  }
  return strides;
}
