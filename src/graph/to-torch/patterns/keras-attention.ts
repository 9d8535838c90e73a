import type { Tensor } from "../../../tensor/tensor.js";
import type { GraphNode } from "../../ir.js";
import type { TorchOp } from "../op.js";
import { concatenated, reshaped, transposed } from "../weights.js";
import { closedRegion, type PatternGraph, type PatternMatch } from "./region.js";

// Keras MultiHeadAttention as src/graph/from-keras/attention.ts lowers it, back as
// nn.MultiheadAttention(E, H, batch_first=True) when that layer computes it: each projection
// x [N, T, E] @ kernel [E, H, d] (as [E, H*d]) + bias, reshaped [0, 0, H, d] and transposed
// [0, 2, 1, 3]; the query times 1/sqrt(d); softmax over the keys; the context transposed back,
// reshaped [0, 0, H*d], @ the output kernel [H, d, E] + bias. nn.MultiheadAttention needs
// H*d = E for query, key and value, the value's d equal to the key's, an output of E features,
// and biases on all four projections (torch 1.13's nn.MultiheadAttention(bias=False) fails in
// eval: its fast path requires the bias); anything else is written node by node.

interface Projection {
  x: string;
  kernel: Tensor;
  bias?: Tensor;
  heads: number;
  dim: number;
}

export function recogniseKerasAttention(view: PatternGraph, softmax: GraphNode): PatternMatch | undefined {
  const nodes = new Set<GraphNode>([softmax]);
  const of = (name: string | undefined, op: string): GraphNode | undefined => {
    const node = name === undefined ? undefined : view.producer.get(name);
    if (!node || node.op !== op || node.domain !== "") return undefined;
    nodes.add(node);
    return node;
  };
  const only = (node: GraphNode | undefined, ...allowed: string[]) => node !== undefined && Object.keys(node.attributes).every((k) => allowed.includes(k));
  const perm = (node: GraphNode | undefined, expected: number[]) => {
    const p = node?.attributes.perm;
    return only(node, "perm") && p?.type === "ints" && p.value.join() === expected.join();
  };
  const tensor = (name: string | undefined) => (name === undefined || view.producer.has(name) ? undefined : view.tensors.get(name));
  const ints = (name: string | undefined) => {
    const t = tensor(name);
    const v = t && /^int/.test(t.dtype) ? view.constants.get(t) : undefined;
    return v?.values.join();
  };
  const reader = (node: GraphNode, op: string) => {
    const readers = view.readers.get(node.outputs[0]!) ?? [];
    return readers.length === 1 && readers[0]!.op === op && readers[0]!.domain === "" && !view.returned.has(node.outputs[0]!) ? readers[0] : undefined;
  };
  /** A weight reshaped by a constant target: Reshape(initializer, [..]) → the initializer, when the target is `flat`. */
  const flatWeight = (name: string | undefined, flat: number[]): Tensor | undefined => {
    const r = of(name, "Reshape");
    const t = tensor(r?.inputs[0]);
    return only(r, "allowzero") && t?.dtype === "float32" && ints(r!.inputs[1]) === flat.join() ? t : undefined;
  };
  /** [N, H, T, d] ← Transpose(Reshape(x @ kernel (+ bias), [0, 0, H, d]), [0, 2, 1, 3]). */
  const projection = (name: string | undefined): Projection | undefined => {
    const t = of(name, "Transpose");
    const split = of(t?.inputs[0], "Reshape");
    if (!perm(t, [0, 2, 1, 3]) || !only(split, "allowzero")) return undefined;
    const target = ints(split!.inputs[1])?.split(",").map(Number);
    if (target?.length !== 4 || target[0] !== 0 || target[1] !== 0) return undefined;
    const [heads, dim] = [target[2]!, target[3]!];
    const add = of(split!.inputs[0], "Add");
    const matmul = of(add ? add.inputs[0] : split!.inputs[0], "MatMul");
    if ((add && !only(add)) || !only(matmul)) return undefined;
    const kernelFlat = view.producer.get(matmul!.inputs[1]!);
    const kernelTensor = tensor(kernelFlat?.inputs[0]);
    if (kernelTensor?.shape.length !== 3 || kernelTensor.shape[1] !== heads || kernelTensor.shape[2] !== dim) return undefined;
    const kernel = flatWeight(matmul!.inputs[1], [kernelTensor.shape[0]!, heads * dim]);
    const bias = add ? flatWeight(add.inputs[1], [heads * dim]) : undefined;
    if (!kernel || (add && bias?.shape.join() !== `${heads},${dim}`)) return undefined;
    return { x: matmul!.inputs[0]!, kernel, bias, heads, dim };
  };

  const axis = softmax.attributes.axis;
  if (!only(softmax, "axis") || axis?.type !== "int" || (axis.value !== -1 && axis.value !== 3)) return undefined;
  const scores = of(softmax.inputs[0], "MatMul");
  const scaled = of(scores?.inputs[0], "Mul");
  const keyT = of(scores?.inputs[1], "Transpose");
  const context = reader(softmax, "MatMul");
  if (!scores || !only(scores) || !only(scaled) || !perm(keyT, [0, 1, 3, 2]) || !context || !only(context) || context.inputs[0] !== softmax.outputs[0])
    return undefined;
  nodes.add(context);
  const [q, k, v] = [projection(scaled!.inputs[0]), projection(keyT!.inputs[0]), projection(context.inputs[1])];
  if (!q || !k || !v) return undefined;
  const E = q.kernel.shape[0]!;
  const H = q.heads;
  const sameShape = [q, k, v].every((p) => p.heads === H && p.dim * H === E && p.kernel.shape[0] === E);
  const biased = [q, k, v].every((p) => p.bias);
  const scaleTensor = tensor(scaled!.inputs[1]);
  const scale = scaleTensor?.dtype === "float32" && scaleTensor.shape.length === 0 ? view.constants.get(scaleTensor)?.values[0] : undefined;
  if (!sameShape || !biased || scale === undefined || Math.fround(scale) !== Math.fround(1 / Math.sqrt(q.dim))) return undefined;

  // context [N, H, T, d] → Transpose [0, 2, 1, 3] → Reshape [0, 0, E] → @ out kernel [H, d, E] (+ bias [E]).
  const back = reader(context, "Transpose");
  const merged = back && reader(back, "Reshape");
  const out = merged && reader(merged, "MatMul");
  if (!perm(back, [0, 2, 1, 3]) || !only(merged, "allowzero") || ints(merged!.inputs[1]) !== `0,0,${E}` || !only(out) || out!.inputs[0] !== merged!.outputs[0])
    return undefined;
  for (const n of [back!, merged!, out!]) nodes.add(n);
  const outKernel = flatWeight(out!.inputs[1], [E, E]);
  if (outKernel?.shape.join() !== `${H},${q.dim},${E}`) return undefined;
  const outAdd = reader(out!, "Add");
  const outBias = outAdd && only(outAdd) && outAdd.inputs[0] === out!.outputs[0] ? tensor(outAdd.inputs[1]) : undefined;
  if (outBias?.dtype !== "float32" || outBias.shape.join() !== `${E}`) return undefined;
  nodes.add(outAdd!);
  const anchor = outAdd!;
  if (!closedRegion(view, nodes, anchor)) return undefined;

  return {
    anchor,
    nodes,
    emit: (op: TorchOp) => {
      const asMatrix = (p: Projection) => transposed(reshaped(p.kernel, [E, E]));
      const weights: Record<string, Tensor> = {
        in_proj_weight: concatenated([q, k, v].map(asMatrix), `${q.kernel.name}+key+value`),
        in_proj_bias: concatenated(
          [q, k, v].map((p) => reshaped(p.bias!, [E])),
          `${q.bias!.name}+key+value`,
        ),
        "out_proj.weight": transposed(reshaped(outKernel, [E, E])),
        "out_proj.bias": outBias,
      };
      const layer = op.layer(`nn.MultiheadAttention(${E}, ${H}, batch_first=True)`, weights, layerHint(q.kernel.name));
      const [query, key, value] = [q, k, v].map((p) => op.expression(p.x));
      op.line(`# ${nodes.size} nodes from '${softmax.name}' (Softmax) are one nn.MultiheadAttention`);
      op.assign(`${layer}(${query}, ${key}, ${value}, need_weights=False)[0]`, { dtype: "float32", rank: 3 });
    },
  };
}

/** The Keras layer's name: `mha/query/kernel:0` → `mha`. */
function layerHint(kernelName: string): string | undefined {
  const parts = kernelName.split("/");
  return parts.length >= 3 ? parts.slice(0, -2).join("/") : undefined;
}
