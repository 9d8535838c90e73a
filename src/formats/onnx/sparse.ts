import { byteLengthOf, dtypeSize, isPacked, numelOf } from "../../tensor/dtype.js";
import { type Tensor, computedData } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import { type SparseTensorProto, sizeOf } from "./schema.js";
import { type TensorContext, decodeTensor } from "./tensor-proto.js";

/** Dense tensors bigger than this are refused rather than allocated from a small sparse one. */
const MAX_DENSE_BYTES = 2 ** 31;

/**
 * A sparse initializer as a dense tensor: zeros with `values` scattered at `indices`
 * ([NNZ] linear indices or [NNZ, rank] coordinates, both int64).
 */
export async function densifySparse(sparse: SparseTensorProto, context: TensorContext): Promise<{ tensor: Tensor; nnz: number } | string> {
  const name = sparse.values?.name ?? "";
  if (!sparse.values || !sparse.indices) throw new WeightbridgeError("corrupt", "sparse initializer lacks values or indices", { tensor: name });
  const shape = sparse.dims.map((d) => sizeOf(d, "dimension"));
  const values = await decodeTensor(sparse.values, name, context);
  if (typeof values === "string") return values;
  if (isPacked(values.dtype)) return `sparse ${values.dtype} values are not read`;
  const indices = await decodeTensor(sparse.indices, `${name} (indices)`, context);
  if (typeof indices === "string" || indices.dtype !== "int64") {
    throw new WeightbridgeError("corrupt", "sparse indices must be int64", { tensor: name });
  }
  const nnz = values.shape[0] ?? 0;
  if (values.shape.length !== 1) throw new WeightbridgeError("corrupt", "sparse values must be 1-D", { tensor: name });
  const linear = indices.shape.length === 1 && indices.shape[0] === nnz;
  const coordinates = indices.shape.length === 2 && indices.shape[0] === nnz && indices.shape[1] === shape.length;
  if (!linear && !coordinates) {
    throw new WeightbridgeError("corrupt", `sparse indices shape [${indices.shape.join(", ")}] fits neither [${nnz}] nor [${nnz}, ${shape.length}]`, {
      tensor: name,
    });
  }
  const byteLength = byteLengthOf(values.dtype, shape);
  if (!Number.isSafeInteger(byteLength) || byteLength > MAX_DENSE_BYTES) {
    throw new WeightbridgeError("unsupported", `sparse initializer densifies to ${byteLength} bytes, more than weightbridge allocates`, { tensor: name });
  }
  const numel = numelOf(shape);
  const size = dtypeSize(values.dtype);
  const data = computedData(byteLength, async () => {
    const dense = new Uint8Array(byteLength);
    const src = await values.data.read();
    const idx = await indices.data.read();
    const view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
    const rank = shape.length;
    for (let i = 0; i < nnz; i++) {
      let at = 0;
      if (linear) at = Number(view.getBigInt64(i * 8, true));
      else {
        for (let axis = 0; axis < rank; axis++) {
          const c = Number(view.getBigInt64((i * rank + axis) * 8, true));
          if (c < 0 || c >= shape[axis]!) at = -1;
          if (at >= 0) at = at * shape[axis]! + c;
        }
      }
      if (!(at >= 0 && at < numel)) throw new WeightbridgeError("corrupt", `sparse index ${i} is out of range`, { tensor: name });
      dense.set(src.subarray(i * size, (i + 1) * size), at * size);
    }
    return dense;
  });
  return { tensor: { name, dtype: values.dtype, shape, data, role: "sparse-initializer" }, nnz };
}
