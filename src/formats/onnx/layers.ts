import type { LayerHint } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";
import { type AttributeProto, type NodeProto, int64Of } from "./schema.js";
import { classKinds, rankedKind } from "../../vocabulary/layers.js";

// What the nodes that consume an initializer say about it: the layer kind (Conv → conv2d ...),
// the op's own name, the input slot it fills and the attributes a layout rule needs.

/** Input slot names per op (ONNX operator schemas); only ops that own weights. */
const SLOTS: Record<string, string[]> = {
  Conv: ["X", "W", "B"],
  ConvTranspose: ["X", "W", "B"],
  Gemm: ["A", "B", "C"],
  MatMul: ["A", "B"],
  BatchNormalization: ["X", "scale", "B", "input_mean", "input_var"],
  InstanceNormalization: ["input", "scale", "B"],
  LayerNormalization: ["X", "Scale", "B"],
  LSTM: ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
  GRU: ["X", "W", "R", "B", "sequence_lens", "initial_h"],
  RNN: ["X", "W", "R", "B", "sequence_lens", "initial_h"],
  Gather: ["data", "indices"],
};

const RECURRENT = new Set(["LSTM", "GRU", "RNN"]);

/** Attributes worth passing on, with their ONNX defaults (recurrent ops also get `layer`: their index under one module). */
const KEPT_ATTRIBUTES: Record<string, Record<string, number | string>> = {
  Conv: { group: 1 },
  ConvTranspose: { group: 1 },
  Gemm: { transA: 0, transB: 0, alpha: 1, beta: 1 },
  BatchNormalization: { epsilon: 1e-5, momentum: 0.9 },
  InstanceNormalization: { epsilon: 1e-5 },
  LayerNormalization: { axis: -1, epsilon: 1e-5 },
  LSTM: { hidden_size: 0, direction: "forward" },
  GRU: { hidden_size: 0, direction: "forward", linear_before_reset: 0 },
  RNN: { hidden_size: 0, direction: "forward" },
};

/**
 * The module path a torch ≥1.13 scoped node name implies: `/layer1/layer1.0/conv1/Conv` →
 * `layer1.0.conv1`, `/enc/conv/conv.0/Conv` → `enc.conv.0`, `/blocks.0/proj/MatMul` →
 * `blocks.0.proj`. Each scope is one called module, named by its full path from its last
 * non-numeric atom on (torch.onnx.utils `_unqualified_variable_name`), so a scope repeats the end
 * of its parent's path (`layer1` → `layer1.0`) unless the parent was never called (a ModuleList:
 * `blocks.0` directly under the root); the full path is each scope's atoms after that overlap.
 */
export function scopePath(nodeName: string | undefined): string | undefined {
  if (!nodeName) return undefined;
  if (!nodeName.startsWith("/")) return nodeName;
  const scopes = nodeName
    .split("/")
    .filter((p) => p !== "")
    .slice(0, -1);
  if (scopes.length === 0) return undefined;
  const path: string[] = [];
  for (const scope of scopes) {
    const atoms = scope.split(".");
    let overlap = Math.min(atoms.length - 1, path.length);
    while (overlap > 0 && !atoms.slice(0, overlap).every((a, i) => a === path[path.length - overlap + i])) overlap--;
    path.push(...atoms.slice(overlap));
  }
  return path.join(".");
}

function attributeValue(a: AttributeProto): number | string | undefined {
  switch (a.type) {
    case 1:
      return a.f;
    case 2:
      return Number(int64Of(a.i));
    case 3:
      return a.s ? new TextDecoder().decode(a.s) : "";
    default:
      return undefined;
  }
}

const OP_KINDS = classKinds("onnx");

/** Ops whose inputs are not all weights of the kind: which (slot, weight rank) are. */
const WEIGHT_INPUT: Record<string, (slot: string, rank: number) => boolean> = {
  Gemm: (slot) => slot === "B" || slot === "C",
  MatMul: (slot, rank) => slot === "B" && rank === 2,
  Gather: (slot) => slot === "data",
};

function kindOf(op: string, slot: string, weightRank: number | undefined, attrs: Record<string, unknown>, shape: number[] | undefined): LayerKind | undefined {
  const kind = OP_KINDS[op];
  const rank = weightRank ?? 0;
  if (!kind || WEIGHT_INPUT[op]?.(slot, rank) === false) return undefined;
  const group = attrs.group as number;
  if (kind === "conv" && slot === "W" && group > 1 && shape && shape[1] === 1 && group === shape[0] && rank === 4) return "depthwise_conv2d";
  return rankedKind(kind, rank);
}

/**
 * Layer hints for initializers, from the first node that consumes each one in a weight slot.
 * `shapes` gives initializer shapes (conv rank decides 1d/2d/3d; a Conv's bias gets its weight's rank).
 */
export function layerHints(nodes: NodeProto[], shapes: Map<string, number[]>): Map<string, LayerHint> {
  const hints = new Map<string, LayerHint>();
  const producers = new Map<string, NodeProto>();
  for (const node of nodes) for (const out of node.output) producers.set(out, node);
  // torch exports a stacked LSTM as one node per layer, in order, under the module's scope.
  const recurrentLayers = new Map<string, number>();
  for (const node of nodes) {
    const op = node.op_type ?? "";
    if (node.domain && node.domain !== "ai.onnx") continue;
    const slots = SLOTS[op];
    if (op === "Add") addBiasHint(node, shapes, producers, hints);
    if (!slots) continue;
    const attrs = attributesOf(node, op);
    if (RECURRENT.has(op)) {
      const key = `${op}:${scopePath(node.name) ?? ""}`;
      attrs.layer = recurrentLayers.get(key) ?? 0;
      recurrentLayers.set(key, (attrs.layer as number) + 1);
    }
    const weightShape = shapes.get(node.input[1] ?? "");
    node.input.forEach((input, index) => {
      const slot = slots[index];
      if (!slot || index === 0 || !shapes.has(input) || hints.has(input)) return;
      const kind = kindOf(op, slot, weightShape?.length, attrs, weightShape);
      if (!kind) return;
      hints.set(input, hint(kind, op, node, { ...attrs, input: slot }));
    });
    // Gather's data is its first input.
    if (op === "Gather" && shapes.has(node.input[0] ?? "") && !hints.has(node.input[0]!)) {
      hints.set(node.input[0]!, hint("embedding", op, node, { input: "data" }));
    }
  }
  return hints;
}

function hint(kind: LayerKind, op: string, node: NodeProto, attributes: Record<string, unknown>): LayerHint {
  const path = scopePath(node.name);
  return { kind, framework: "onnx", className: op, ...(path ? { path } : {}), attributes };
}

function attributesOf(node: NodeProto, op: string): Record<string, unknown> {
  const defaults = KEPT_ATTRIBUTES[op] ?? {};
  const out: Record<string, unknown> = { ...defaults };
  for (const a of node.attribute) {
    if (a.name && a.name in defaults) {
      const v = attributeValue(a);
      if (v !== undefined) out[a.name] = v;
    }
  }
  return out;
}

/** `MatMul(x, W)` then `Add(·, b)`: b is that linear layer's bias (Keras/tf2onnx Dense, torch Linear on 3-D input). */
function addBiasHint(node: NodeProto, shapes: Map<string, number[]>, producers: Map<string, NodeProto>, hints: Map<string, LayerHint>): void {
  const [a, b] = node.input;
  if (a === undefined || b === undefined) return;
  const [bias, other] = shapes.has(b) && !shapes.has(a) ? [b, a] : shapes.has(a) && !shapes.has(b) ? [a, b] : [];
  if (!bias || hints.has(bias)) return;
  const matmul = producers.get(other!);
  if (matmul?.op_type !== "MatMul" || !shapes.has(matmul.input[1] ?? "")) return;
  const path = scopePath(matmul.name);
  hints.set(bias, { kind: "linear", framework: "onnx", className: "Add", ...(path ? { path } : {}), attributes: { input: "bias" } });
}

/** Names torch's exporter makes up for derived tensors (`onnx::Conv_16`) or bare numbers from old exporters. */
export function isExporterMadeName(name: string): boolean {
  return name.startsWith("onnx::") || /^\d+$/.test(name);
}

/** The first node that consumes each name, for warnings. */
export function firstConsumers(nodes: NodeProto[]): Map<string, NodeProto> {
  const out = new Map<string, NodeProto>();
  for (const node of nodes) for (const input of node.input) if (!out.has(input)) out.set(input, node);
  return out;
}
