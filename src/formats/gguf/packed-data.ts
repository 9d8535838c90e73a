import { readRangeInto, type ByteSource } from "../../io/source.js";
import { sourceData, type PackedForm, type TensorData } from "../../tensor/tensor.js";
import type { DType } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import { castInto } from "../../kernels/cast.js";
import { BLOCK_DECODERS } from "./dequant/index.js";
import { dequantWasm, PIECE_VALUES, takeDequantizer, type DequantTarget } from "./dequant/wasm.js";
import { PACKED_SCHEME_PREFIX, type GgmlType } from "./ggml-types.js";

/**
 * A block-quantized GGUF tensor as IR data: values decoded block by block as they are read
 * (streamed in whole blocks, never the whole tensor unless read() is asked for), with the file's
 * blocks kept as its packed form. The values are float32; castTo() gives them as float16 or
 * bfloat16 decoded directly (WebAssembly SIMD for the common types), the bytes a cast would give.
 */
export class GgmlBlockData implements TensorData {
  readonly byteLength: number;
  readonly packed: PackedForm;

  constructor(
    private readonly source: ByteSource,
    private readonly type: GgmlType,
    private readonly offset: number,
    private readonly blockBytes: number,
    private readonly tensor: string,
  ) {
    if (!BLOCK_DECODERS[type.name]) throw new WeightbridgeError("unsupported", `no decoder for ggml type ${type.name}`, { file: source.name, tensor });
    this.byteLength = (blockBytes / type.typeSize) * type.blockSize * 4;
    this.packed = { scheme: PACKED_SCHEME_PREFIX + type.name, blocks: sourceData(source, offset, blockBytes) };
  }

  read(): Promise<Uint8Array> {
    return this.readAs("float32");
  }

  chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    return this.chunksAs(maxBytes, "float32");
  }

  streamChunks(maxBytes: number): AsyncIterable<Uint8Array> {
    return this.streamAs(maxBytes, "float32");
  }

  castTo(dtype: DType): TensorData | undefined {
    if (dtype !== "float16" && dtype !== "bfloat16") return undefined;
    return {
      byteLength: this.byteLength / 2,
      read: () => this.readAs(dtype),
      chunks: (maxBytes) => this.chunksAs(maxBytes, dtype),
      streamChunks: (maxBytes) => this.streamAs(maxBytes, dtype),
    };
  }

  private async readAs(to: DequantTarget): Promise<Uint8Array> {
    return decodeGgmlBlocks(this.type, await this.packed.blocks.read(), to, this.tensor);
  }

  private async *chunksAs(maxBytes: number, to: DequantTarget): AsyncIterable<Uint8Array> {
    for await (const blocks of this.blockPieces(maxBytes, to)) yield decodeGgmlBlocks(this.type, blocks, to, this.tensor);
  }

  /**
   * Like chunksAs, but each piece decoded by WebAssembly into its own memory, valid until the
   * next is asked for (streamChunks' contract): no new buffer per piece, written while in cache.
   */
  private async *streamAs(maxBytes: number, to: DequantTarget): AsyncIterable<Uint8Array> {
    const dequantizer = takeDequantizer(this.type.name);
    if (!dequantizer) return yield* this.chunksAs(maxBytes, to);
    try {
      // The blocks are read into one buffer, reused: the kernels copy them into their memory.
      const outPerBlock = this.type.blockSize * (to === "float32" ? 4 : 2);
      const step = Math.max(1, Math.floor(Math.min(maxBytes, PIECE_VALUES * (to === "float32" ? 4 : 2)) / outPerBlock)) * this.type.typeSize;
      const input = new Uint8Array(Math.min(step, this.blockBytes));
      for (let at = 0; at < this.blockBytes; at += step) {
        const blocks = input.subarray(0, Math.min(step, this.blockBytes - at));
        await readRangeInto(this.source, this.offset + at, blocks);
        yield dequantizer.decode(this.type.name, blocks, to);
      }
    } finally {
      dequantizer.release();
    }
  }

  /** The file's blocks in runs that decode to at most `maxBytes` (at least one block). */
  private async *blockPieces(maxBytes: number, to: DequantTarget): AsyncIterable<Uint8Array> {
    const outPerBlock = this.type.blockSize * (to === "float32" ? 4 : 2);
    const blocksPerChunk = Math.max(1, Math.floor(maxBytes / outPerBlock));
    const { blocks } = this.packed;
    for (let at = 0; at < this.blockBytes; at += blocksPerChunk * this.type.typeSize) {
      const end = Math.min(this.blockBytes, at + blocksPerChunk * this.type.typeSize);
      yield await blocks.readRange!(at, end);
    }
  }
}

/**
 * Whole blocks of `type` decoded into new float32/float16/bfloat16 bytes: WebAssembly where there
 * is a kernel for the type, else the JavaScript decoder (then a cast); both give the same bytes.
 */
export function decodeGgmlBlocks(type: GgmlType, blocks: Uint8Array, to: DequantTarget, tensor?: string): Uint8Array {
  if (blocks.byteLength % type.typeSize !== 0) {
    throw new WeightbridgeError("corrupt", `${blocks.byteLength} bytes are not whole ${type.name} blocks`, { tensor });
  }
  const values = (blocks.byteLength / type.typeSize) * type.blockSize;
  const out = new Uint8Array(values * (to === "float32" ? 4 : 2));
  if (dequantWasm(type.name, blocks, out, to)) return out;
  return decodeGgmlBlocksJs(type, blocks, out, to);
}

/** The JavaScript path of decodeGgmlBlocks (the reference the WebAssembly kernels are tested against). */
export function decodeGgmlBlocksJs(type: GgmlType, blocks: Uint8Array, out: Uint8Array, to: DequantTarget): Uint8Array {
  const floats = new Float32Array((blocks.byteLength / type.typeSize) * type.blockSize);
  BLOCK_DECODERS[type.name]!(blocks, floats);
  const bytes = new Uint8Array(floats.buffer);
  if (to === "float32") out.set(bytes);
  else castInto(bytes, out, "float32", to);
  return out;
}
