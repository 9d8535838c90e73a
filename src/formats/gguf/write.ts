import type { ByteSink } from "../../io/sink.js";
import type { Checkpoint } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { GgufWriteOptions as WriteOptions } from "./options.js";
import { WeightbridgeError } from "../../errors.js";
import { ByteWriter } from "../../util/byte-writer.js";
import { utf8 } from "../../util/bytes.js";
import { numelOf } from "../../tensor/dtype.js";
import { castTensor } from "../../kernels/cast-tensor.js";
import { exactPieces, streamTensor } from "../../kernels/stream.js";
import { ggmlTypeByName, ggmlTypeForDtype, PACKED_SCHEME_PREFIX, type GgmlType } from "./ggml-types.js";
import { alignUp, DEFAULT_ALIGNMENT, GGUF_MAGIC } from "./header-read.js";
import { writeKeyValue } from "./metadata-write.js";
import { BLOCK_ENCODERS, FALLBACK } from "./quantize.js";
import { completeMetadata } from "./general-keys.js";
import { QUANTIZE_TO } from "./options.js";

/** How one tensor's bytes are produced. */
interface Planned {
  tensor: Tensor;
  type: GgmlType;
  byteLength: number;
  bytes: () => AsyncIterable<Uint8Array>;
}

const PIECE_VALUES = 64 * 1024;
/** ggml's GGML_MAX_NAME: a tensor name must fit in 64 bytes with its terminating NUL. */
const GGML_MAX_NAME = 64;

/**
 * GGUF v3: metadata from the source's (or the template's) `meta.gguf`, completed with general.*
 * keys; tensors in checkpoint order, each at the next multiple of general.alignment. A tensor
 * whose data still carries its GGUF blocks is written as those blocks, byte for byte.
 */
export async function writeGguf(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions = {}): Promise<void> {
  const quantize = options.formatOptions?.gguf?.quantize;
  const target = quantize === undefined ? undefined : quantizeType(quantize);
  const planned = checkpoint.tensors.map((t) => plan(t, target));
  const long = planned.filter((p) => utf8(p.tensor.name).byteLength >= GGML_MAX_NAME).map((p) => p.tensor.name);
  if (long.length > 0)
    options.warn?.(
      `llama.cpp refuses tensor names of ${GGML_MAX_NAME} bytes or more: ${long.slice(0, 3).join(", ")}${long.length > 3 ? ` and ${long.length - 3} more` : ""} (map them to GGUF names, e.g. --map hf2gguf)`,
    );
  const { metadata, types } = completeMetadata(
    checkpoint,
    options,
    planned.map((p) => p.type),
    target,
  );
  const alignment = typeof metadata["general.alignment"] === "number" ? metadata["general.alignment"] : DEFAULT_ALIGNMENT;

  const header = new ByteWriter().u32(GGUF_MAGIC).u32(3).u64(planned.length).u64(Object.keys(metadata).length);
  for (const [key, value] of Object.entries(metadata)) writeKeyValue(header, key, value, types[key]);
  let offset = 0;
  for (const p of planned) {
    const name = utf8(p.tensor.name);
    header.u64(name.byteLength).bytes(name).u32(p.tensor.shape.length);
    for (const dim of [...p.tensor.shape].reverse()) header.u64(dim);
    header.u32(p.type.id).u64(offset);
    offset = alignUp(offset + p.byteLength, alignment);
  }
  // The tensor data starts aligned; a file without tensors ends with its metadata, as llama.cpp's
  // vocabulary-only files (models/ggml-vocab-*.gguf) do.
  if (planned.length > 0) header.fill(0, alignUp(header.length, alignment) - header.length);
  for (const chunk of header.chunks()) await sink.write(chunk);
  for (const p of planned) {
    let written = 0;
    for await (const chunk of p.bytes()) {
      written += chunk.byteLength;
      await sink.write(chunk);
    }
    if (written !== p.byteLength) throw new WeightbridgeError("corrupt", `produced ${written} bytes, expected ${p.byteLength}`, { tensor: p.tensor.name });
    const pad = alignUp(written, alignment) - written;
    if (pad > 0) await sink.write(new Uint8Array(pad));
  }
}

function quantizeType(name: string): GgmlType {
  const type = ggmlTypeByName(name);
  if (!type || !QUANTIZE_TO.includes(type.name)) {
    throw new WeightbridgeError("usage", `--quantize ${name}: weightbridge quantizes to ${QUANTIZE_TO.join(", ")}`);
  }
  return type;
}

/** llama.cpp keeps these in float32 whatever the quantization: vectors (biases, norms) and norm weights. */
function staysFloat32(t: Tensor): boolean {
  return t.shape.length <= 1 || t.name.endsWith("_norm.weight");
}

function plan(t: Tensor, quantize: GgmlType | undefined): Planned {
  const packed = t.data.packed;
  const packedType = packed?.scheme.startsWith(PACKED_SCHEME_PREFIX) ? ggmlTypeByName(packed.scheme.slice(PACKED_SCHEME_PREFIX.length)) : undefined;
  const rowFits = (type: GgmlType) => (t.shape.at(-1) ?? 1) % type.blockSize === 0;
  if (packed && packedType && rowFits(packedType) && (!quantize || quantize === packedType)) {
    return { tensor: t, type: packedType, byteLength: packed.blocks.byteLength, bytes: () => packed.blocks.chunks(16 << 20) };
  }
  const floating = t.dtype === "float32" || t.dtype === "float16" || t.dtype === "bfloat16" || t.dtype === "float64";
  if (quantize && floating) {
    if (staysFloat32(t)) return plain(castTensor(t, "float32"));
    if (rowFits(quantize)) return encoded(t, quantize);
    const fallback = FALLBACK[quantize.name] ? ggmlTypeByName(FALLBACK[quantize.name]!) : undefined;
    if (fallback && rowFits(fallback)) return encoded(t, fallback);
    return plain(castTensor(t, "float16"));
  }
  return plain(t);
}

function plain(t: Tensor): Planned {
  const type = ggmlTypeForDtype(t.dtype);
  if (!type) {
    throw new WeightbridgeError(
      "unsupported",
      `GGUF has no ${t.dtype} tensor type (it stores F32, F16, BF16, F64, I8-I64 and quantized blocks); cast it with --dtype or drop it`,
      { tensor: t.name },
    );
  }
  return { tensor: t, type, byteLength: t.data.byteLength, bytes: () => streamTensor(t) };
}

function encoded(t: Tensor, type: GgmlType): Planned {
  const values = castTensor(t, "float32");
  const blocks = numelOf(t.shape) / type.blockSize;
  const encode = BLOCK_ENCODERS[type.name]!;
  const piece = PIECE_VALUES - (PIECE_VALUES % type.blockSize);
  return {
    tensor: t,
    type,
    byteLength: blocks * type.typeSize,
    async *bytes() {
      for await (const bytes of exactPieces(streamTensor(values), piece * 4)) {
        const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        const out = new Uint8Array((floats.length / type.blockSize) * type.typeSize);
        encode(floats, out);
        yield out;
      }
    },
  };
}
