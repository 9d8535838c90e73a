import type { ByteSink } from "../../io/sink.js";
import { checkUniqueNames, type Checkpoint } from "../../tensor/checkpoint.js";
import { WeightbridgeError } from "../../errors.js";
import { utf8 } from "../../util/bytes.js";
import { ByteWriter } from "../../util/byte-writer.js";
import { SAFETENSORS_DTYPES } from "./dtypes.js";
import { encodeMetadata } from "./metadata.js";
import { streamTensor } from "../../kernels/stream.js";
import type { Framework, WriteOptions } from "../types.js";

/**
 * The `format` value each framework's own safetensors writers put in `__metadata__`
 * (save_pretrained: "pt" and "tf"; PaddleNLP saves numpy arrays as "np").
 */
const FRAMEWORK_TAGS: Record<Framework, string> = { pytorch: "pt", keras: "tf", paddle: "np", onnx: "np", tflite: "tf" };

/** Writes tensors in checkpoint order; the header is padded with spaces to a multiple of 8. */
export async function writeSafetensors(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions = {}): Promise<void> {
  const header: Record<string, unknown> = {};
  const metadata = encodeMetadata(checkpoint);
  // Loaders such as transformers' from_pretrained refuse a file whose metadata lacks "format".
  const tag = options.framework && FRAMEWORK_TAGS[options.framework];
  if (tag && metadata.format === undefined) metadata.format = tag;
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  checkUniqueNames(checkpoint.tensors, { file: sink.name });
  for (const t of checkpoint.tensors) {
    const code = SAFETENSORS_DTYPES[t.dtype];
    if (!code) throw new WeightbridgeError("unsupported", `safetensors has no ${t.dtype} dtype`, { tensor: t.name, file: sink.name });
    if (t.name === "__metadata__")
      throw new WeightbridgeError("usage", "tensor name is reserved by safetensors for the header's metadata", { tensor: t.name, file: sink.name });
    header[t.name] = { dtype: code, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = utf8(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const prefix = new ByteWriter()
    .u64(padded)
    .bytes(json)
    .fill(0x20, padded - json.length);
  json = new Uint8Array(0);
  await sink.write(prefix.result());
  for (const t of checkpoint.tensors) {
    for await (const chunk of streamTensor(t)) await sink.write(chunk);
  }
}
