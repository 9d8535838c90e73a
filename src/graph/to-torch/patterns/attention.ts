import type { Tensor } from "../../../tensor/tensor.js";
import type { GraphNode } from "../../ir.js";
import type { TorchOp } from "../op.js";
import { transposed } from "../weights.js";
import { closedRegion, type PatternGraph, type PatternMatch } from "./region.js";
import { type Dim, ShapeArithmetic, dimTimes, known, named, sameDims } from "./symbolic.js";

// nn.MultiheadAttention (self-attention, with or without a key_padding_mask) as torch.onnx.export writes it (torch 1.13,
// opsets 14-17): x [L, B, E] @ in_proj [E, 3E] + bias, sliced into q, k, v; each reshaped to
// [L, B*H, E/H] and transposed; q divided by sqrt(E/H); softmax(q @ kᵀ) @ v; transposed back,
// reshaped to [L*B, E], out_proj as Gemm, reshaped to [L, B, E]; with batch_first, x and the
// result are transposed [1, 0, 2] around it. Every node of the region is checked, and every
// Reshape target and Slice bound is evaluated for all L and B (symbolic.ts): a graph that
// differs anywhere (another scale, a mask, a different split) is not recognised.

const L = named("L");
const B = named("B");

export function recogniseTorchAttention(view: PatternGraph, softmax: GraphNode): PatternMatch | undefined {
  const nodes = new Set<GraphNode>();
  const of = (name: string | undefined, op: string): GraphNode | undefined => {
    const node = name === undefined ? undefined : view.producer.get(name);
    if (!node || node.op !== op || node.domain !== "") return undefined;
    nodes.add(node);
    return node;
  };
  // The one reader of this op (others may only read the value's shape: the region check sees to them).
  const soleReader = (node: GraphNode, op: string): GraphNode | undefined => {
    const readers = (view.readers.get(node.outputs[0]!) ?? []).filter((r) => r.op === op && r.domain === "");
    return readers.length === 1 && !view.returned.has(node.outputs[0]!) ? readers[0] : undefined;
  };
  const perm = (node: GraphNode | undefined, expected: number[]): boolean => {
    const p = node?.attributes.perm;
    return p?.type === "ints" && p.value.join() === expected.join() && Object.keys(node!.attributes).length === 1;
  };
  const plain = (node: GraphNode | undefined, ...allowed: string[]) => node !== undefined && Object.keys(node.attributes).every((k) => allowed.includes(k));
  const tensor = (name: string | undefined): Tensor | undefined => (name === undefined || view.producer.has(name) ? undefined : view.tensors.get(name));
  const scalar = (name: string | undefined): number | undefined => {
    const t = name === undefined ? undefined : (tensor(name) ?? constantTensor(of(name, "Constant")));
    const value = t ? view.constants.get(t) : undefined;
    return value?.values.length === 1 && value.dtype === "float32" ? value.values[0] : undefined;
  };

  const axis = softmax.attributes.axis;
  if (!plain(softmax, "axis") || axis?.type !== "int" || (axis.value !== -1 && axis.value !== 2)) return undefined;
  nodes.add(softmax);
  // With a key_padding_mask: softmax(scores * 1.0 + where(mask, -inf, 0) * 1.0), the mask
  // [B, S] reshaped [B, 1, 1, S], expanded over the heads and reshaped [B*H, 1, S].
  let scoresName = softmax.inputs[0];
  let mask: { input: string; byBatch: GraphNode; expand: GraphNode; byHead: GraphNode } | undefined;
  const sum = of(scoresName, "Add");
  if (sum) {
    const [a, b] = sum.inputs.map((n) => of(n, "Mul"));
    if (!plain(sum) || !plain(a) || !plain(b) || scalar(a!.inputs[1]) !== 1 || scalar(b!.inputs[1]) !== 1) return undefined;
    const where = of(b!.inputs[0], "Where");
    const cast = of(where?.inputs[0], "Cast");
    const zeros = of(where?.inputs[2], "ConstantOfShape");
    const zerosShape = of(zeros?.inputs[0], "Shape");
    const byHead = of(cast?.inputs[0], "Reshape");
    const expand = of(byHead?.inputs[0], "Expand");
    const byBatch = of(expand?.inputs[0], "Reshape");
    const zero = zeros?.attributes.value?.type === "tensor" ? view.constants.get(zeros.attributes.value.value) : undefined;
    const toBool = cast?.attributes.to?.type === "int" && cast.attributes.to.value === 9;
    if (!plain(where) || !plain(cast, "to") || !toBool || scalar(where!.inputs[1]) !== -Infinity || !plain(zeros, "value")) return undefined;
    if (zero?.dtype !== "float32" || zero.values.join() !== "0" || !plain(zerosShape) || zerosShape!.inputs[0] !== byHead!.outputs[0]) return undefined;
    if (!plain(byHead, "allowzero") || !plain(expand) || !plain(byBatch, "allowzero")) return undefined;
    mask = { input: byBatch!.inputs[0]!, byBatch: byBatch!, expand: expand!, byHead: byHead! };
    scoresName = a!.inputs[0];
  }
  const scores = of(scoresName, "MatMul");
  const context = soleReader(softmax, "MatMul");
  if (!scores || !context || context.inputs[0] !== softmax.outputs[0]) return undefined;
  nodes.add(context);
  const scaled = of(scores.inputs[0], "Div") ?? of(scores.inputs[0], "Mul");
  const qT = of(scaled?.inputs[0], "Transpose");
  const kT = of(scores.inputs[1], "Transpose");
  const vT = of(context.inputs[1], "Transpose");
  if (!plain(scaled) || !perm(qT, [1, 0, 2]) || !perm(kT, [1, 2, 0]) || !perm(vT, [1, 0, 2])) return undefined;
  const scale = scalar(scaled!.inputs[1]);
  const reshapes = [qT, kT, vT].map((t) => of(t!.inputs[0], "Reshape"));
  const slices = reshapes.map((r) => of(r?.inputs[0], "Slice"));
  if (scale === undefined || !reshapes.every((r) => plain(r, "allowzero")) || !slices.every((s) => plain(s))) return undefined;
  const projected = slices[0]!.inputs[0]!;
  if (!slices.every((s) => s!.inputs[0] === projected)) return undefined;
  const biasAdd = of(projected, "Add");
  const matmul = biasAdd?.inputs.map((n) => view.producer.get(n)).find((n) => n?.op === "MatMul");
  if (!plain(biasAdd) || !matmul || !plain(matmul)) return undefined;
  nodes.add(matmul);
  const inBias = tensor(biasAdd!.inputs.find((n) => n !== matmul.outputs[0]));
  const inWeight = tensor(matmul.inputs[1]);
  if (!inBias || !inWeight || inWeight.shape.length !== 2 || inWeight.dtype !== "float32" || inBias.dtype !== "float32") return undefined;
  const E = inWeight.shape[0]!;
  if (inWeight.shape[1] !== 3 * E || inBias.shape.join() !== `${3 * E}`) return undefined;

  // context [B*H, L, d] → Transpose → Reshape [L*B, E] → Gemm (out_proj) → Reshape [L, B, E]
  const back = soleReader(context, "Transpose");
  const merged = back && soleReader(back, "Reshape");
  const gemm = merged && soleReader(merged, "Gemm");
  const result = gemm && soleReader(gemm, "Reshape");
  if (!perm(back, [1, 0, 2]) || !plain(merged, "allowzero") || !plain(result, "allowzero") || gemm!.inputs[0] !== merged!.outputs[0]) return undefined;
  const g = gemm!.attributes;
  const gemmInt = (k: string) => (g[k]?.type === "int" ? g[k].value : g[k] === undefined ? 0 : NaN);
  const gemmFloat = (k: string) => (g[k]?.type === "float" ? g[k].value : g[k] === undefined ? 1 : NaN);
  const [outWeight, outBias] = [tensor(gemm!.inputs[1]), tensor(gemm!.inputs[2])];
  if (!plain(gemm, "alpha", "beta", "transA", "transB") || gemmInt("transA") !== 0 || gemmFloat("alpha") !== 1 || gemmFloat("beta") !== 1) return undefined;
  if (outWeight?.shape.join() !== `${E},${E}` || outBias?.shape.join() !== `${E}` || outWeight.dtype !== "float32" || outBias.dtype !== "float32")
    return undefined;
  for (const n of [back!, merged!, gemm!, result!]) nodes.add(n);

  // batch_first: x and the result transposed [1, 0, 2] around the layer.
  const x = matmul.inputs[0]!;
  const inputT = view.producer.get(x);
  const outputT = soleReader(result!, "Transpose");
  const batchFirst = inputT?.op === "Transpose" && perm(inputT, [1, 0, 2]) && outputT !== undefined && perm(outputT, [1, 0, 2]);
  if (batchFirst) nodes.add(inputT).add(outputT);
  const anchor = batchFirst ? outputT! : result!;
  const input = batchFirst ? inputT!.inputs[0]! : x;

  // Every shape the region computes, for all L and B: the heads H come from q's Reshape target.
  const shapes = new Map<string, Dim[]>([
    [x, [L, B, known(E)]],
    [matmul.outputs[0]!, [L, B, known(3 * E)]],
    [projected, [L, B, known(3 * E)]],
    ...slices.map((s) => [s!.outputs[0]!, [L, B, known(E)]] as [string, Dim[]]),
  ]);
  if (batchFirst) shapes.set(input, [B, L, known(E)]);
  const arithmetic = new ShapeArithmetic({
    producer: (name) => view.producer.get(name),
    initializer: (name) => {
      const t = tensor(name);
      return t ? view.constants.get(t) : undefined;
    },
    valuesOf: (t) => view.constants.get(t),
    // Exporters also read the shape of a transposed value (the mask's key length).
    shapeOf: (name) => {
      const t = view.producer.get(name);
      const p = t?.op === "Transpose" && t.attributes.perm?.type === "ints" ? t.attributes.perm.value : undefined;
      const inner = p && Object.keys(t!.attributes).length === 1 ? shapes.get(t!.inputs[0]!) : undefined;
      if (shapes.has(name) || !inner || p!.length !== inner.length) return shapes.get(name);
      nodes.add(t!);
      return p!.map((a) => inner[a]!);
    },
  });
  const target = arithmetic.vector(reshapes[0]!.inputs[1]!);
  const heads = target?.[1]?.syms.join() === "B" ? target[1]!.coef : 0;
  if (heads < 1 || E % heads !== 0) return undefined;
  const headDim = E / heads;
  const BH = dimTimes(B, known(heads));
  const split = [L, BH, known(headDim)];
  const scoresShape = [BH, L, L];
  for (const r of reshapes) shapes.set(r!.outputs[0]!, split);
  for (const [n, dims] of [
    [qT, [BH, L, known(headDim)]],
    [scaled, [BH, L, known(headDim)]],
    [kT, [BH, known(headDim), L]],
    [vT, [BH, L, known(headDim)]],
    [scores, scoresShape],
    [softmax, scoresShape],
    [context, [BH, L, known(headDim)]],
    [back, split],
    [merged, [dimTimes(L, B), known(E)]],
    [gemm, [dimTimes(L, B), known(E)]],
    [result, [L, B, known(E)]],
  ] as Array<[GraphNode, Dim[]]>)
    shapes.set(n.outputs[0]!, dims);
  if (!reshapes.every((r) => sameDims(arithmetic.vector(r!.inputs[1]!), split))) return undefined;
  const lastAxis = (dims: Dim[] | undefined) => sameDims(dims, [known(-1)]) || sameDims(dims, [known(2)]);
  const bounds = [0, E, 2 * E, 3 * E];
  const sliced = slices.every((s, i) => {
    const [starts, ends] = [arithmetic.vector(s!.inputs[1]!), arithmetic.vector(s!.inputs[2]!)];
    const steps = s!.inputs[4] ? arithmetic.vector(s!.inputs[4]) : [known(1)];
    const end = ends?.length === 1 && ends[0]!.syms.length === 0 ? ends[0]!.coef : NaN;
    return (
      sameDims(starts, [known(bounds[i]!)]) &&
      (end === bounds[i + 1] || (i === 2 && end > 3 * E)) &&
      lastAxis(arithmetic.vector(s!.inputs[3] ?? "")) &&
      sameDims(steps, [known(1)])
    );
  });
  if (!sliced) return undefined;
  if (mask) {
    shapes.set(mask.byBatch.outputs[0]!, [B, known(1), known(1), L]);
    shapes.set(mask.expand.outputs[0]!, [B, known(heads), known(1), L]);
    shapes.set(mask.byHead.outputs[0]!, [BH, known(1), L]);
    if (!sameDims(arithmetic.vector(mask.byBatch.inputs[1]!), [B, known(1), known(1), L])) return undefined;
    if (!sameDims(arithmetic.vector(mask.expand.inputs[1]!), [known(1), known(heads), known(1), known(1)])) return undefined;
    if (!sameDims(arithmetic.vector(mask.byHead.inputs[1]!), [BH, known(1), L])) return undefined;
  }
  if (!sameDims(arithmetic.vector(merged!.inputs[1]!), [dimTimes(L, B), known(E)])) return undefined;
  if (!sameDims(arithmetic.vector(result!.inputs[1]!), [L, B, known(E)])) return undefined;
  const expected = scaled!.op === "Div" ? Math.sqrt(headDim) : 1 / Math.sqrt(headDim);
  if (Math.fround(scale) !== Math.fround(expected)) return undefined;
  for (const n of arithmetic.visited) nodes.add(n);
  if (!closedRegion(view, nodes, anchor)) return undefined;

  const transB = gemmInt("transB");
  if (transB !== 0 && transB !== 1) return undefined;
  return {
    anchor,
    nodes,
    emit: (op: TorchOp) => {
      for (const [k, a] of Object.entries(anchor.attributes))
        if (a.type === "ints") op.attrInts(k);
        else op.attrInt(k);
      const weights = {
        in_proj_weight: transposed(inWeight),
        in_proj_bias: inBias,
        "out_proj.weight": transB ? outWeight : transposed(outWeight),
        "out_proj.bias": outBias,
      };
      const layer = op.layer(`nn.MultiheadAttention(${E}, ${heads}${batchFirst ? ", batch_first=True" : ""})`, weights);
      const value = op.expression(input);
      op.line(`# ${nodes.size} nodes from '${softmax.name}' (Softmax) are one nn.MultiheadAttention`);
      // ONNX's Cast to bool and torch's .to(torch.bool) agree: non-zero is masked.
      const padding = mask ? `key_padding_mask=${op.expression(mask.input)}.to(torch.bool), ` : "";
      op.assign(`${layer}(${value}, ${value}, ${value}, ${padding}need_weights=False)[0]`, { dtype: "float32", rank: 3 });
    },
  };
}

function constantTensor(node: GraphNode | undefined): Tensor | undefined {
  const a = node?.attributes.value;
  return a?.type === "tensor" && Object.keys(node!.attributes).length === 1 ? a.value : undefined;
}
