import type { ByteSource } from "../../io/source.js";
import type { Checkpoint, JsonObject } from "../../tensor/checkpoint.js";
import { makeTensor, sourceData, type Tensor } from "../../tensor/tensor.js";
import { readGgufHeader } from "./header-read.js";
import { GgmlBlockData } from "./packed-data.js";
import { ggufLayerHint } from "./layer-hints.js";

/**
 * A GGUF file as a checkpoint: tensors in the file's order under their GGUF names, shapes as
 * PyTorch/numpy see them; plain types as their IR dtype, block types as float32 (exact) with the
 * blocks kept; `meta.gguf` holds the version, every metadata value and each value's GGUF type.
 */
export async function readGguf(source: ByteSource): Promise<Checkpoint> {
  const header = await readGgufHeader(source);
  const tensors: Tensor[] = header.tensors.map((info) => {
    const offset = header.dataStart + info.offset;
    const layer = ggufLayerHint(info.name, header.metadata);
    const extra = layer ? { layer } : {};
    if (info.type.dtype) return makeTensor(info.name, info.type.dtype, info.shape, sourceData(source, offset, info.byteLength), extra);
    return makeTensor(info.name, "float32", info.shape, new GgmlBlockData(source, info.type, offset, info.byteLength, info.name), extra);
  });
  const gguf: JsonObject = {
    version: header.version,
    metadata: header.metadata,
    types: header.types,
    tensor_types: Object.fromEntries(header.tensors.map((t) => [t.name, t.type.name])),
  };
  return { format: "gguf", tensors, meta: { gguf } };
}
