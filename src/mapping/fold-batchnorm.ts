import { computedData } from "../tensor/tensor.js";
import { byteLengthOf, isFloating, numelOf } from "../tensor/dtype.js";
import { elementReader, elementWriter } from "../kernels/elements.js";
import { WeightbridgeError } from "../errors.js";
import type { Lazy } from "./transforms.js";

// A BatchNorm after a convolution, folded into it as torch.onnx.export does in a default
// (eval-mode) export: with s = γ/√(var+ε) per output channel, W' = W·s and b' = β + (b − mean)·s.
// Computed in float64 and rounded once to the weights' dtype.

export interface BatchNormTensors {
  weight: Lazy;
  bias: Lazy;
  mean: Lazy;
  variance: Lazy;
}

export interface Folded {
  weight: Lazy;
  bias: Lazy;
}

/** W' and b' of `conv` (weight [C, ...], optional bias [C]) with the BatchNorm `bn` of C channels folded in. */
export function foldBatchNorm(conv: { weight: Lazy; bias?: Lazy }, bn: BatchNormTensors, epsilon: number, name: string): Folded {
  const channels = conv.weight.shape[0] ?? 0;
  for (const [what, t] of [
    ["conv weight", conv.weight],
    ["conv bias", conv.bias],
    ["BatchNorm weight", bn.weight],
    ["BatchNorm bias", bn.bias],
    ["running_mean", bn.mean],
    ["running_var", bn.variance],
  ] as const) {
    if (!t) continue;
    if (!isFloating(t.dtype)) throw new WeightbridgeError("mapping", `cannot fold a BatchNorm: ${what} is ${t.dtype}`, { tensor: name });
    if (t !== conv.weight && (t.shape.length !== 1 || t.shape[0] !== channels)) {
      throw new WeightbridgeError(
        "mapping",
        `cannot fold a BatchNorm of [${bn.weight.shape.join(", ")}] into a conv weight of [${conv.weight.shape.join(", ")}]: ${what} is [${t.shape.join(", ")}]`,
        { tensor: name },
      );
    }
  }
  const scales = async (): Promise<Float64Array> => {
    const [g, v] = await Promise.all([bn.weight.data.read(), bn.variance.data.read()]);
    const gamma = elementReader(bn.weight.dtype, g);
    const variance = elementReader(bn.variance.dtype, v);
    return Float64Array.from({ length: channels }, (_, c) => gamma(c) / Math.sqrt(variance(c) + epsilon));
  };
  const perChannel = numelOf(conv.weight.shape) / Math.max(channels, 1);
  const weight: Lazy = {
    dtype: conv.weight.dtype,
    shape: [...conv.weight.shape],
    data: computedData(conv.weight.data.byteLength, async () => {
      const [s, w] = await Promise.all([scales(), conv.weight.data.read()]);
      const read = elementReader(conv.weight.dtype, w);
      const out = new Uint8Array(conv.weight.data.byteLength);
      const write = elementWriter(conv.weight.dtype, out);
      for (let i = 0; i < channels * perChannel; i++) write(i, read(i) * s[Math.floor(i / perChannel)]!);
      return out;
    }),
  };
  const biasDtype = conv.bias?.dtype ?? conv.weight.dtype;
  const bias: Lazy = {
    dtype: biasDtype,
    shape: [channels],
    data: computedData(byteLengthOf(biasDtype, [channels]), async () => {
      const [s, beta, mean, b] = await Promise.all([scales(), bn.bias.data.read(), bn.mean.data.read(), conv.bias?.data.read()]);
      const readBeta = elementReader(bn.bias.dtype, beta);
      const readMean = elementReader(bn.mean.dtype, mean);
      const readBias = b && conv.bias ? elementReader(conv.bias.dtype, b) : () => 0;
      const out = new Uint8Array(byteLengthOf(biasDtype, [channels]));
      const write = elementWriter(biasDtype, out);
      for (let c = 0; c < channels; c++) write(c, readBeta(c) + (readBias(c) - readMean(c)) * s[c]!);
      return out;
    }),
  };
  return { weight, bias };
}
