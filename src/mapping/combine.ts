import { computedData } from "../tensor/tensor.js";
import { byteLengthOf, dtypeSize, isFloating, numelOf } from "../tensor/dtype.js";
import { elementReader, elementWriter, hasNumericAccess } from "../kernels/elements.js";
import { WeightbridgeError } from "../errors.js";
import { concatBytes } from "./layout.js";
import type { Lazy } from "./transforms.js";
import type { Combine } from "./types.js";

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Element-wise sum (e.g. PyTorch's bias_ih + bias_hh → Keras' single LSTM bias), rounded once per add. */
function sum(parts: Lazy[], name: string): Lazy {
  const first = parts[0]!;
  if (!hasNumericAccess(first.dtype) || first.dtype === "bool") {
    throw new WeightbridgeError("mapping", `cannot sum ${first.dtype} tensors`, { tensor: name });
  }
  const count = numelOf(first.shape);
  const float32 = first.dtype === "float32";
  return {
    ...first,
    data: computedData(first.data.byteLength, async () => {
      const inputs = await Promise.all(parts.map((p) => p.data.read()));
      const out = new Uint8Array(first.data.byteLength);
      const readers = inputs.map((b) => elementReader(first.dtype, b));
      const write = elementWriter(first.dtype, out);
      for (let i = 0; i < count; i++) {
        let acc = readers[0]!(i);
        // Round after every add, as the framework does in the tensor's own dtype.
        for (let k = 1; k < readers.length; k++) acc = float32 ? Math.fround(acc + readers[k]!(i)) : acc + readers[k]!(i);
        write(i, acc);
      }
      return out;
    }),
  };
}

function concat(parts: Lazy[], axis: number, name: string): Lazy {
  const first = parts[0]!;
  const rest = (s: readonly number[]) => s.filter((_, i) => i !== axis);
  if (axis < 0 || axis >= first.shape.length || parts.some((p) => p.shape.length !== first.shape.length || !same(rest(p.shape), rest(first.shape)))) {
    throw new WeightbridgeError("mapping", `cannot concatenate shapes ${parts.map((p) => `[${p.shape.join(", ")}]`).join(", ")} along axis ${axis}`, {
      tensor: name,
    });
  }
  const shape = [...first.shape];
  shape[axis] = parts.reduce((n, p) => n + p.shape[axis]!, 0);
  return {
    dtype: first.dtype,
    shape,
    data: computedData(byteLengthOf(first.dtype, shape), async () => {
      const bytes = await Promise.all(parts.map((p) => p.data.read()));
      return concatBytes(
        parts.map((p, k) => ({ bytes: bytes[k]!, shape: p.shape })),
        dtypeSize(first.dtype),
        axis,
      );
    }),
  };
}

/** Combines the matched tensor with its partners; all must share dtype (and shape for sum/stack). */
export function combine(parts: Lazy[], spec: Combine, name: string): { tensor: Lazy; note: string } {
  const first = parts[0]!;
  if (parts.some((p) => p.dtype !== first.dtype)) {
    throw new WeightbridgeError("mapping", `cannot ${spec.op} tensors of dtypes ${parts.map((p) => p.dtype).join(", ")}`, { tensor: name });
  }
  const axis = spec.axis ?? 0;
  if (spec.op !== "concat" && parts.some((p) => !same(p.shape, first.shape))) {
    throw new WeightbridgeError("mapping", `cannot ${spec.op} shapes ${parts.map((p) => `[${p.shape.join(", ")}]`).join(", ")}`, { tensor: name });
  }
  if (spec.op === "sum") {
    const note = isFloating(first.dtype) ? `sum of ${parts.length}` : `integer sum of ${parts.length}`;
    return { tensor: sum(parts, name), note };
  }
  if (spec.op === "concat") return { tensor: concat(parts, axis, name), note: `concat(axis ${axis})` };
  if (axis < 0 || axis > first.shape.length) {
    throw new WeightbridgeError("mapping", `stack: axis ${axis} is outside rank ${first.shape.length + 1}`, { tensor: name });
  }
  const expanded = parts.map((p) => ({ ...p, shape: [...p.shape.slice(0, axis), 1, ...p.shape.slice(axis)] }));
  return { tensor: concat(expanded, axis, name), note: `stack(axis ${axis})` };
}
