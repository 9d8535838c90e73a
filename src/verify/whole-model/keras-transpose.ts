import type { Tensor } from "../../tensor/tensor.js";
import { NotCheckable, wholeParam } from "../params.js";
import { Disagreement, type LayerSide } from "../reference.js";
import type { KerasNode } from "./keras-graph.js";
import { activate } from "./keras-activations.js";
import { flat, product, unflat, type Value } from "./value.js";
import { intList } from "./keras-spatial.js";

// Conv1D/2D/3DTranspose as Keras defines them, computed directly (no single-layer reference
// exists): the output length is Keras' deconv_output_length, and TensorFlow's transposed conv is
// the gradient of the SAME/VALID convolution from that length back to the input's, so input step i
// with kernel tap k lands on o = i·stride + k·dilation − pad_before (SAME: pad_before = half the
// total padding, rounded down; VALID: 0). Kernel [...k, filters, in], channels last.

/** Keras' deconv_output_length for one axis. */
function outputLength(length: number, reach: number, stride: number, padding: string, outputPadding: number | undefined): number {
  if (outputPadding === undefined) return padding === "same" ? length * stride : length * stride + Math.max(reach - stride, 0);
  const pad = padding === "same" ? Math.floor(reach / 2) : 0;
  return (length - 1) * stride + reach - 2 * pad + outputPadding;
}

export async function convTranspose(node: KerasNode, x: Value, side: LayerSide<Tensor>): Promise<Value> {
  const c = node.config;
  const rank = x.shape.length - 2;
  if (rank < 1) throw new NotCheckable(`layer ${node.name} takes an input of rank ${x.shape.length}`);
  if (c.data_format === "channels_first") throw new NotCheckable(`layer ${node.name} is channels_first (not covered)`);
  const padding = String(c.padding ?? "valid");
  if (padding !== "same" && padding !== "valid") throw new NotCheckable(`layer ${node.name} has padding '${padding}' (not covered)`);
  const kernelTensor = side.roles.get("kernel");
  if (!kernelTensor) throw new Disagreement(`layer ${node.name} has no kernel (it has ${[...side.roles.keys()].join(", ")})`);
  const kernelShape = kernelTensor.shape.slice(0, rank);
  const [F, C] = kernelTensor.shape.slice(rank) as [number, number];
  if (x.shape[rank + 1] !== C) throw new Disagreement(`layer ${node.name}'s kernel takes ${C} channels, its input has ${x.shape[rank + 1]}`);
  const [ones, zeros] = [new Array<number>(rank).fill(1), new Array<number>(rank).fill(0)];
  const strides = intList(c.strides, rank, ones);
  const dilation = intList(c.dilation_rate, rank, ones);
  const outputPadding = c.output_padding === null || c.output_padding === undefined ? undefined : intList(c.output_padding, rank, zeros);
  const spatial = x.shape.slice(1, -1);
  const reach = kernelShape.map((k, d) => (k - 1) * dilation[d]! + 1);
  const out = spatial.map((n, d) => outputLength(n, reach[d]!, strides[d]!, padding, outputPadding?.[d]));
  const before = spatial.map((n, d) => (padding === "same" ? Math.floor(Math.max((n - 1) * strides[d]! + reach[d]! - out[d]!, 0) / 2) : 0));
  const kernel = await wholeParam(kernelTensor);
  const biasTensor = side.roles.get("bias");
  const bias = biasTensor ? await wholeParam(biasTensor) : undefined;
  const N = x.shape[0]!;
  const [P, Q, K] = [product(spatial), product(out), product(kernelShape)];
  const y = new Float64Array(N * Q * F);
  for (let n = 0; n < N; n++) {
    for (let q = 0; q < Q; q++) for (let f = 0; f < F; f++) y[(n * Q + q) * F + f] = bias ? bias.at(f) : 0;
    for (let p = 0; p < P; p++) {
      const at = unflat(p, spatial);
      for (let k = 0; k < K; k++) {
        const taps = unflat(k, kernelShape);
        const o = at.map((i, d) => i * strides[d]! + taps[d]! * dilation[d]! - before[d]!);
        if (o.some((v, d) => v < 0 || v >= out[d]!)) continue;
        const q = flat(o, out);
        for (let f = 0; f < F; f++) {
          let sum = 0;
          for (let ch = 0; ch < C; ch++) sum += x.data[(n * P + p) * C + ch]! * kernel.at((k * F + f) * C + ch);
          y[(n * Q + q) * F + f]! += sum;
        }
      }
    }
  }
  return activate({ shape: [N, ...out, F], data: y }, c.activation, node);
}
