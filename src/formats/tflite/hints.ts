import type { LayerHint } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";
import type { TfliteOperator, TfliteSubgraph } from "./model.js";

// What the operators that consume a constant tensor say about it: the layer kind, the op, the
// input slot it fills (TFLite's kernel input names) and the op's options. Layouts are TFLite's:
// CONV_2D filters OHWI, DEPTHWISE_CONV_2D 1HW(C·M), FULLY_CONNECTED [out, in], TRANSPOSE_CONV OHWI.

const LSTM_SLOTS = [
  "input",
  "input_to_input_weights",
  "input_to_forget_weights",
  "input_to_cell_weights",
  "input_to_output_weights",
  "recurrent_to_input_weights",
  "recurrent_to_forget_weights",
  "recurrent_to_cell_weights",
  "recurrent_to_output_weights",
  "cell_to_input_weights",
  "cell_to_forget_weights",
  "cell_to_output_weights",
  "input_gate_bias",
  "forget_gate_bias",
  "cell_gate_bias",
  "output_gate_bias",
  "projection_weights",
  "projection_bias",
  "output_state",
  "cell_state",
  "input_layer_norm_coefficients",
  "forget_layer_norm_coefficients",
  "cell_layer_norm_coefficients",
  "output_layer_norm_coefficients",
];

/** Input slot names and layer kind per op; only ops that own weights. */
const OPS: Record<string, { kind: LayerKind; slots: string[] }> = {
  FULLY_CONNECTED: { kind: "linear", slots: ["input", "weights", "bias"] },
  CONV_2D: { kind: "conv2d", slots: ["input", "filter", "bias"] },
  CONV_3D: { kind: "conv3d", slots: ["input", "filter", "bias"] },
  DEPTHWISE_CONV_2D: { kind: "depthwise_conv2d", slots: ["input", "filter", "bias"] },
  TRANSPOSE_CONV: { kind: "conv_transpose2d", slots: ["output_shape", "weights", "input", "bias"] },
  UNIDIRECTIONAL_SEQUENCE_LSTM: { kind: "lstm", slots: LSTM_SLOTS },
  GATHER: { kind: "embedding", slots: ["params", "indices"] },
  EMBEDDING_LOOKUP: { kind: "embedding", slots: ["ids", "params"] },
  PRELU: { kind: "prelu", slots: ["input", "alpha"] },
};

const NOT_WEIGHTS = new Set(["input", "indices", "ids", "output_shape", "output_state", "cell_state"]);

/**
 * The layer an operator belongs to, from its first output's name: the converter names it after
 * the fused TF ops (`sequential/dense/MatMul;sequential/dense/Relu`), whose scope is the layer's
 * (`sequential/dense` → `sequential.dense`). A model's last output is named after the signature
 * (`StatefulPartitionedCall:0`); then its weight's name (`sequential/dense_2/MatMul`) gives the
 * scope, and without any, the op and its index.
 */
export function layerPath(op: TfliteOperator, graph: TfliteSubgraph): string {
  for (const index of [op.outputs[0], op.inputs[1]]) {
    const first = (graph.tensors[index ?? -1]?.name ?? "").split(";")[0]!;
    const cut = first.lastIndexOf("/");
    if (cut > 0) return first.slice(0, cut).replace(/[/.:]/g, (c) => (c === "/" ? "." : "_"));
  }
  return `${op.op.toLowerCase()}_${op.index}`;
}

/** Hints for constant tensors (by index in the subgraph) from the first operator that reads each as a weight. */
export function layerHints(graph: TfliteSubgraph): Map<number, LayerHint> {
  const hints = new Map<number, LayerHint>();
  const producer = new Map<number, TfliteOperator>();
  for (const op of graph.operators) for (const o of op.outputs) producer.set(o, op);
  for (const op of graph.operators) {
    const spec = OPS[op.op];
    if (!spec) continue;
    const path = layerPath(op, graph);
    op.inputs.forEach((t, i) => {
      const slot = spec.slots[i];
      if (t < 0 || !slot || NOT_WEIGHTS.has(slot) || hints.has(t)) return;
      const attributes: Record<string, unknown> = { input: slot, ...op.options, scope: path };
      if (op.op === "FULLY_CONNECTED" && slot === "weights") Object.assign(attributes, flattenedFrom(op, graph, producer));
      // One slope per channel (every axis but the last 1), or one per position (Keras' PReLU without shared_axes).
      if (op.op === "PRELU" && slot === "alpha") attributes.per_channel = (graph.tensors[t]?.shape ?? []).slice(0, -1).every((d) => d === 1);
      // The other gates' tensors, by slot: a rule concatenating the four gates names them (read.ts turns indices into names).
      if (spec.kind === "lstm") attributes.slotTensors = Object.fromEntries(op.inputs.map((u, k) => [spec.slots[k], u]).filter(([, u]) => (u as number) >= 0));
      hints.set(t, { kind: spec.kind, framework: "tflite", className: op.op, path, attributes });
    });
  }
  return hints;
}

/**
 * A FULLY_CONNECTED fed by a RESHAPE of a 4-D NHWC feature map reads its rows in H,W,C order:
 * the `flattenedFrom` a flattenOrder transform needs to reorder them for a channels-first target.
 */
function flattenedFrom(op: TfliteOperator, graph: TfliteSubgraph, producer: Map<number, TfliteOperator>): Record<string, unknown> {
  const reshape = producer.get(op.inputs[0] ?? -1);
  if (!reshape || (reshape.op !== "RESHAPE" && reshape.op !== "SQUEEZE")) return {};
  const shape = graph.tensors[reshape.inputs[0] ?? -1]?.shape ?? [];
  if (shape.length !== 4) return {};
  const [, h, w, c] = shape as [number, number, number, number];
  // A 1×1 map (a global pool's output) flattens to the same order either way.
  if (h * w === 1) return {};
  return { flattenedFrom: { channels: c, spatial: [h, w] } };
}
