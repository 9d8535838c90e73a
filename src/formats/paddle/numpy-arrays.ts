import type { ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";
import type { DType } from "../../tensor/dtype.js";
import { NUMPY_DESCR } from "../../numpy/dtypes.js";
import { arrayTensor as numpyArrayTensor, type ArrayTensor } from "../../pickle/array-tensor.js";
import type { Tensor, TensorData } from "../../tensor/tensor.js";
import type { NumpyArray, NumpyDtype } from "../../pickle/index.js";

export type { ArrayTensor } from "../../pickle/array-tensor.js";

/** An ndarray of a Paddle pickle as IR tensor data (`u2` is bfloat16, see paddleDType). */
export function arrayTensor(a: NumpyArray, name: string, source: ByteSource): ArrayTensor {
  return numpyArrayTensor(a, name, source, paddleDType);
}

/**
 * numpy dtype → IR dtype in a Paddle pickle: numpy's own mapping, except that `u2` is bfloat16.
 * Paddle registers its bfloat16 as numpy uint16 and has no uint16 type of its own, so every `u2`
 * array paddle.save writes is bf16 bit patterns (paddle.load turns uint16 back into BF16 the same way).
 */
function paddleDType(dtype: NumpyDtype): DType | undefined {
  return dtype.typestr === "u2" ? "bfloat16" : dtype.irDType;
}

/** The numpy descr the writer uses for an IR dtype: numpy's, with `<u2` carrying bfloat16 instead of uint16. */
const { uint16: _uint16, ...NUMERIC_DESCR } = NUMPY_DESCR;
const PADDLE_NUMPY_DESCR: Partial<Record<DType, string>> = { ...NUMERIC_DESCR, bfloat16: "<u2" };

/** Tensor data that is several pieces one after the other (a split array put back together). */
export function concatData(pieces: TensorData[]): TensorData {
  const byteLength = pieces.reduce((n, p) => n + p.byteLength, 0);
  return {
    byteLength,
    async read() {
      const out = new Uint8Array(byteLength);
      let at = 0;
      for (const p of pieces) {
        out.set(await p.read(), at);
        at += p.byteLength;
      }
      return out;
    },
    async *chunks(maxBytes: number) {
      for (const p of pieces) yield* p.chunks(maxBytes);
    },
  };
}

/** The numpy descr a tensor is written with; refuses dtypes a Paddle pickle cannot hold faithfully. */
export function numpyDescrFor(t: Tensor): string {
  const descr = PADDLE_NUMPY_DESCR[t.dtype];
  if (!descr) {
    const why =
      t.dtype === "uint16"
        ? "Paddle reads numpy uint16 as bfloat16, so a uint16 tensor cannot be saved faithfully (cast it to int32 first)"
        : `Paddle pickles have no ${t.dtype} arrays`;
    throw new WeightbridgeError("unsupported", why, { tensor: t.name });
  }
  return descr;
}
