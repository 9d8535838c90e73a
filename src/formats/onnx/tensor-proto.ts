import { type DType, byteLengthOf, numelOf } from "../../tensor/dtype.js";
import { type TensorData, bytesData, sourceData } from "../../tensor/tensor.js";
import { WeightbridgeError, isWeightbridgeError } from "../../errors.js";
import { type TensorProto, has, sizeOf } from "./schema.js";
import { dtypeFromOnnx, onnxTypeName, typedFieldBytes } from "./dtypes.js";
import { externalData, type TensorContext } from "./external.js";

export type { TensorContext } from "./external.js";

export interface DecodedTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** A TensorProto's dtype, shape and data; undefined for element types the IR lacks (reason given). */
export async function decodeTensor(proto: TensorProto, name: string, context: TensorContext): Promise<DecodedTensor | string> {
  const typeId = proto.data_type ?? 0;
  const dtype = dtypeFromOnnx(typeId);
  if (!dtype) return `element type ${onnxTypeName(typeId)} has no weightbridge dtype`;
  try {
    const shape = proto.dims.map((d) => sizeOf(d, "dimension"));
    const byteLength = checkedByteLength(dtype, shape, context.source.size, name, proto);
    return { dtype, shape, data: await dataOf(proto, dtype, shape, byteLength, context, name) };
  } catch (e) {
    if (isWeightbridgeError(e)) throw e.at({ tensor: name, file: context.source.name });
    throw e;
  }
}

function checkedByteLength(dtype: DType, shape: number[], fileSize: number, name: string, proto: TensorProto): number {
  const bytes = byteLengthOf(dtype, shape);
  // Inline values take at least one byte each; external data can be larger than the .onnx file.
  const external = proto.data_location === 1;
  if (!Number.isSafeInteger(bytes) || (!external && numelOf(shape) > fileSize)) {
    throw new WeightbridgeError("corrupt", `shape [${shape.join(", ")}] is larger than the file could hold`, { tensor: name });
  }
  return bytes;
}

async function dataOf(proto: TensorProto, dtype: DType, shape: number[], byteLength: number, context: TensorContext, name: string): Promise<TensorData> {
  if (has(proto, "data_location") && proto.data_location === 1) {
    return externalData(proto, byteLength, context, name);
  }
  if (proto.rawRange) {
    const { offset, length } = proto.rawRange;
    if (length !== byteLength) {
      throw new WeightbridgeError("corrupt", `raw_data is ${length} bytes but ${dtype}[${shape.join(", ")}] needs ${byteLength}`);
    }
    return sourceData(context.source, offset, byteLength);
  }
  if (has(proto, "raw_data")) {
    const raw = proto.raw_data!;
    if (raw.byteLength !== byteLength) {
      throw new WeightbridgeError("corrupt", `raw_data is ${raw.byteLength} bytes but ${dtype}[${shape.join(", ")}] needs ${byteLength}`);
    }
    // raw_data is a view into the decoded file bytes: keep only its byte range, so the file
    // buffer can be dropped once the graph is read.
    const offset = raw.byteOffset - context.modelBytes.byteOffset;
    if (raw.buffer === context.modelBytes.buffer && offset >= 0 && offset + byteLength <= context.modelBytes.byteLength) {
      return sourceData(context.source, offset, byteLength);
    }
    return bytesData(raw.slice());
  }
  const typed = typedFieldBytes(proto, dtype, numelOf(shape), name);
  if (typed) return bytesData(typed);
  if (byteLength === 0) return bytesData(new Uint8Array(0));
  throw new WeightbridgeError("corrupt", `${dtype}[${shape.join(", ")}] has no data (no raw_data, typed field or external data)`);
}
