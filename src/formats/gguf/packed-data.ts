import type { ByteSource } from "../../io/source.js";
import { sourceData, type PackedForm, type TensorData } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import { BLOCK_DECODERS } from "./dequant/index.js";
import { PACKED_SCHEME_PREFIX, type GgmlType } from "./ggml-types.js";

/**
 * A block-quantized GGUF tensor as IR data: float32 values decoded block by block as they are
 * read (streamed in whole blocks, never the whole tensor unless read() is asked for), with the
 * file's blocks kept as its packed form.
 */
export class GgmlBlockData implements TensorData {
  readonly byteLength: number;
  readonly packed: PackedForm;
  private readonly decode;

  constructor(
    source: ByteSource,
    private readonly type: GgmlType,
    offset: number,
    private readonly blockBytes: number,
    private readonly tensor: string,
  ) {
    const decode = BLOCK_DECODERS[type.name];
    if (!decode) throw new WeightbridgeError("unsupported", `no decoder for ggml type ${type.name}`, { file: source.name, tensor });
    this.decode = decode;
    this.byteLength = (blockBytes / type.typeSize) * type.blockSize * 4;
    this.packed = { scheme: PACKED_SCHEME_PREFIX + type.name, blocks: sourceData(source, offset, blockBytes) };
  }

  /** Decodes whole blocks into float32 bytes. */
  decodeBlocks(blocks: Uint8Array): Uint8Array {
    if (blocks.byteLength % this.type.typeSize !== 0) {
      throw new WeightbridgeError("corrupt", `${blocks.byteLength} bytes are not whole ${this.type.name} blocks`, { tensor: this.tensor });
    }
    const out = new Float32Array((blocks.byteLength / this.type.typeSize) * this.type.blockSize);
    this.decode(blocks, out);
    return new Uint8Array(out.buffer);
  }

  async read(): Promise<Uint8Array> {
    return this.decodeBlocks(await this.packed.blocks.read());
  }

  async *chunks(maxBytes: number): AsyncIterable<Uint8Array> {
    const outPerBlock = this.type.blockSize * 4;
    const blocksPerChunk = Math.max(1, Math.floor(maxBytes / outPerBlock));
    const { blocks } = this.packed;
    for (let at = 0; at < this.blockBytes; at += blocksPerChunk * this.type.typeSize) {
      const end = Math.min(this.blockBytes, at + blocksPerChunk * this.type.typeSize);
      yield this.decodeBlocks(await blocks.readRange!(at, end));
    }
  }
}
