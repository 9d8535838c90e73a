import { byteLengthOf, numelOf, type DType } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import type { TfliteModel, TfliteTensor } from "./model.js";
import { DTYPE_OF_TENSOR_TYPE, INT4 } from "./dtypes.js";
import { packedInt4Length } from "./int4.js";

// Where each constant tensor's bytes are in a .tflite file, checked once: the reader and the
// re-weighting writer both start from this list.

/** Where one constant tensor's bytes are, after checking them against the file and the buffer list. */
export interface PlacedTensor {
  subgraph: number;
  tensor: TfliteTensor;
  /** The checkpoint name: the tensor's own, made unique (other subgraphs' names get `SUBGRAPH::`). */
  name: string;
  dtype: DType;
  offset: number;
  byteLength: number;
  int4: boolean;
}

/** Every tensor with data in a buffer, in subgraph and tensor order. Shared with the re-weighting writer. */
export function placeTensors(model: TfliteModel, file: string, fileSize: number): PlacedTensor[] {
  const placed: PlacedTensor[] = [];
  const taken = new Set<string>();
  model.subgraphs.forEach((graph, s) => {
    for (const tensor of graph.tensors) {
      if (tensor.buffer === 0) continue;
      const where = { file, tensor: tensor.name };
      if (tensor.buffer >= model.buffers.length) {
        throw new WeightbridgeError("corrupt", `buffer index ${tensor.buffer} is past the model's ${model.buffers.length} buffers`, where);
      }
      const buffer = model.buffers[tensor.buffer]!;
      if (buffer.size === 0) continue; // an activation, or a variable that starts empty
      if (buffer.offset + buffer.size > fileSize) {
        throw new WeightbridgeError(
          "truncated",
          `buffer ${tensor.buffer} declares ${buffer.size} bytes at byte ${buffer.offset}, past the end of the ${fileSize}-byte file`,
          { ...where, offset: buffer.offset },
        );
      }
      const int4 = tensor.type === INT4;
      const dtype = int4 ? "int8" : DTYPE_OF_TENSOR_TYPE[tensor.type as keyof typeof DTYPE_OF_TENSOR_TYPE];
      if (!dtype) throw new WeightbridgeError("unsupported", `TFLite ${tensor.typeName} tensors (buffer ${tensor.buffer})`, where);
      if (tensor.sparse) throw new WeightbridgeError("unsupported", "sparse TFLite tensors (densify the model with the TFLite converter first)", where);
      if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new WeightbridgeError("corrupt", `shape [${tensor.shape.join(", ")}] has a negative size`, where);
      }
      const expected = int4 ? packedInt4Length(numelOf(tensor.shape)) : byteLengthOf(dtype, tensor.shape);
      if (buffer.size !== expected) {
        throw new WeightbridgeError(
          "corrupt",
          `${tensor.typeName}[${tensor.shape.join(", ")}] needs ${expected} bytes but buffer ${tensor.buffer} holds ${buffer.size}`,
          { ...where, offset: buffer.offset },
        );
      }
      let name = s === 0 ? tensor.name : `${graph.name || `subgraph${s}`}::${tensor.name}`;
      if (taken.has(name)) name = `${name}#${tensor.index}`;
      taken.add(name);
      placed.push({ subgraph: s, tensor, name, dtype, offset: buffer.offset, byteLength: buffer.size, int4 });
    }
  });
  return placed;
}
