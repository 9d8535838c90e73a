import { dtypeSize, numelOf } from "../../tensor/dtype.js";
import { type Tensor, computedData, makeTensor } from "../../tensor/tensor.js";
import { permuteBytes } from "../../kernels/permute.js";
import { filledBytes } from "../../kernels/elements.js";
import { bytesData } from "../../tensor/tensor.js";

// Weights as torch's layers hold them, derived lazily from the graph's initializers (bytes are
// computed when the .pth is written): transposed matrices, gate blocks reordered, one
// direction of a recurrent layer, zero biases for layers whose ONNX op had none.

export function transposed(t: Tensor): Tensor {
  const shape = [t.shape[1]!, t.shape[0]!];
  return makeTensor(
    t.name,
    t.dtype,
    shape,
    computedData(t.data.byteLength, async () => permuteBytes(await t.data.read(), t.shape, dtypeSize(t.dtype), [1, 0])),
  );
}

export function reshaped(t: Tensor, shape: number[]): Tensor {
  return makeTensor(t.name, t.dtype, shape, t.data);
}

export function zeros(like: Tensor, shape: number[], name = `${like.name}.zeros`): Tensor {
  return makeTensor(name, like.dtype, shape, bytesData(filledBytes(like.dtype, numelOf(shape), 0)));
}

export function scalarInt64(value: number, name: string): Tensor {
  return makeTensor(name, "int64", [], bytesData(filledBytes("int64", 1, value)));
}

/**
 * Slice `index` of the first axis, its next axis cut into `order.length` equal blocks put in
 * `order` (an RNN's gates): W[d] of shape [G*H, ...] with blocks reordered.
 */
export function blocksOf(t: Tensor, index: number, order: number[], range?: [number, number]): Tensor {
  const inner = t.shape.slice(1);
  const rowBytes = numelOf(inner.slice(1)) * dtypeSize(t.dtype);
  const rows = range ? range[1] - range[0] : inner[0]!;
  const block = (rows / order.length) * rowBytes;
  const sliceStart = index * numelOf(inner) * dtypeSize(t.dtype) + (range?.[0] ?? 0) * rowBytes;
  return makeTensor(
    t.name,
    t.dtype,
    [rows, ...inner.slice(1)],
    computedData(rows * rowBytes, async () => {
      const slice = (await t.data.read()).subarray(sliceStart, sliceStart + rows * rowBytes);
      const out = new Uint8Array(rows * rowBytes);
      order.forEach((from, to) => out.set(slice.subarray(from * block, (from + 1) * block), to * block));
      return out;
    }),
  );
}

/** Tensors of one dtype joined along their first axis (nn.MultiheadAttention's in_proj from three projections). */
export function concatenated(parts: Tensor[], name: string): Tensor {
  const shape = [parts.reduce((n, t) => n + t.shape[0]!, 0), ...parts[0]!.shape.slice(1)];
  const byteLength = parts.reduce((n, t) => n + t.data.byteLength, 0);
  return makeTensor(
    name,
    parts[0]!.dtype,
    shape,
    computedData(byteLength, async () => {
      const out = new Uint8Array(byteLength);
      let offset = 0;
      for (const t of parts) {
        out.set(await t.data.read(), offset);
        offset += t.data.byteLength;
      }
      return out;
    }),
  );
}
