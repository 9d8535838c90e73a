import { posix } from "node:path";
import { type TensorData, sourceData } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import type { TensorProto } from "./schema.js";
import type { ByteSource } from "../../io/source.js";

/** What turning a TensorProto into IR data needs to know about the file it came from (the .onnx file, side files). */
export interface TensorContext {
  /** The .onnx file. */
  source: ByteSource;
  /** The bytes the ModelProto was decoded from: the first `source` bytes. */
  modelBytes: Uint8Array;
  /** Opens (once) a side file named by external data. */
  sibling(location: string, tensor: string): Promise<ByteSource>;
}

/** The byte range of an external tensor (`location`, `offset`, `length`) in its side file. */
export async function externalData(proto: TensorProto, byteLength: number, context: TensorContext, name: string): Promise<TensorData> {
  const entries = new Map(proto.external_data.map((e) => [e.key ?? "", e.value ?? ""]));
  const location = entries.get("location");
  if (!location) throw new WeightbridgeError("corrupt", "external tensor has no 'location'", { tensor: name });
  checkLocation(location, name);
  const offset = parseDecimal(entries.get("offset"), "offset", name) ?? 0;
  const length = parseDecimal(entries.get("length"), "length", name);
  if (length !== undefined && length !== byteLength) {
    throw new WeightbridgeError("corrupt", `external data length ${length} but the tensor needs ${byteLength} bytes`, { tensor: name });
  }
  const side = await context.sibling(location, name);
  if (offset + byteLength > side.size) {
    throw new WeightbridgeError("truncated", `external data needs ${byteLength} bytes at offset ${offset} but '${location}' is ${side.size} bytes long`, {
      tensor: name,
      file: side.name,
      offset,
    });
  }
  return sourceData(side, offset, byteLength);
}

/** ONNX's own rule: relative, and no `..` anywhere (checked before touching the file system). */
export function checkLocation(location: string, name: string): void {
  const cleaned = location.replace(/\\/g, "/");
  if (posix.isAbsolute(cleaned) || /^[A-Za-z]:/.test(cleaned) || cleaned.includes("..")) {
    throw new WeightbridgeError("corrupt", `external data location '${location}' must be a relative path inside the model's folder`, { tensor: name });
  }
}

function parseDecimal(value: string | undefined, key: string, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new WeightbridgeError("corrupt", `external data ${key} '${value}' is not a byte count`, { tensor: name });
  }
  return Number(value);
}
