import type { Tensor } from "../../tensor/tensor.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { ELEMENTWISE_MERGES, INFERENCE_IDENTITY, simpleAttributes } from "../../keras/model-config.js";
import { NotCheckable } from "../params.js";
import { Disagreement, type LayerSide, type Reference } from "../reference.js";
import { referenceFor } from "../references.js";
import { sideOf } from "../pairing.js";
import { seededRandom } from "../random.js";
import { kerasGraph, type KerasNode } from "./keras-graph.js";
import { KERAS_LAYER_KINDS } from "../../keras/layer-kinds.js";
import { activate, softmax } from "./keras-activations.js";
import { conv, globalPool, pool } from "./keras-spatial.js";
import { loadedSide, product, shaped, type Value } from "./value.js";

export type { Value } from "./value.js";

// A Keras model computed by composing the reference layers along its config: each weighted layer
// runs through its reference forward pass (the same code verify checks single layers with) on
// the previous layers' outputs, in Keras' channels-last layout. Covered: Dense, Conv1D/2D/3D
// (strides, no dilation, valid or same padding), depthwise/separable conv likewise, max/average
// and global pooling, BatchNormalization and LayerNormalization on the last axis, activations,
// Dropout-like layers (identity at inference), Flatten, Reshape, Add/Subtract/Multiply/Average/
// Concatenate.

const IDENTITY = new Set(INFERENCE_IDENTITY);
const MERGES = new Set(ELEMENTWISE_MERGES);

/** Runs a reference layer on rows of the last axis (Dense, norms). */
async function rowwise(
  node: KerasNode,
  ref: Reference<unknown>,
  side: LayerSide<Tensor>,
  x: Value,
  set: (plan: Record<string, unknown>, rows: number) => number,
): Promise<Value> {
  const plan = ref.plan(side, side, seededRandom(0)) as Record<string, unknown>;
  const rows = x.data.length / x.shape[x.shape.length - 1]!;
  const out = set(plan, rows);
  const y = ref.forward(await loadedSide(side), plan, x.data, "source");
  return { shape: [...x.shape.slice(0, -1), out], data: y };
}

function merge(node: KerasNode, xs: Value[]): Value {
  if (node.className === "Concatenate") {
    const axis = typeof node.config.axis === "number" ? node.config.axis : -1;
    if (axis !== -1 && axis !== xs[0]!.shape.length - 1)
      throw new NotCheckable(`layer ${node.name} concatenates on axis ${axis} (only the last axis is covered)`);
    const rows = xs[0]!.data.length / xs[0]!.shape[xs[0]!.shape.length - 1]!;
    const widths = xs.map((x) => x.shape[x.shape.length - 1]!);
    const D = widths.reduce((a, b) => a + b, 0);
    const y = new Float64Array(rows * D);
    for (let r = 0; r < rows; r++) {
      let at = 0;
      xs.forEach((x, i) => {
        y.set(x.data.subarray(r * widths[i]!, (r + 1) * widths[i]!), r * D + at);
        at += widths[i]!;
      });
    }
    return { shape: [...xs[0]!.shape.slice(0, -1), D], data: y };
  }
  for (const x of xs)
    if (x.shape.join() !== xs[0]!.shape.join())
      throw new NotCheckable(`layer ${node.name} merges shapes ${xs.map((v) => `[${v.shape.join(",")}]`).join(" and ")} (broadcasting is not covered)`);
  const op: Record<string, (a: number, b: number) => number> = {
    Add: (a, b) => a + b,
    Subtract: (a, b) => a - b,
    Multiply: (a, b) => a * b,
    Average: (a, b) => a + b,
    Maximum: Math.max,
    Minimum: Math.min,
  };
  const f = op[node.className]!;
  const y = Float64Array.from(xs[0]!.data);
  for (const x of xs.slice(1)) for (let i = 0; i < y.length; i++) y[i] = f(y[i]!, x.data[i]!);
  if (node.className === "Average") for (let i = 0; i < y.length; i++) y[i]! /= xs.length;
  return { shape: xs[0]!.shape, data: y };
}

async function layer(node: KerasNode, xs: Value[], tensors: readonly Tensor[]): Promise<Value> {
  const cls = node.className;
  const x = xs[0]!;
  if (MERGES.has(cls) || cls === "Concatenate") return merge(node, xs);
  if (xs.length !== 1) throw new NotCheckable(`layer ${node.name} (${cls}) takes ${xs.length} inputs`);
  if (cls === "Activation") return activate(x, node.config.activation, node.name);
  if (cls === "ReLU" && node.config.max_value == null && !node.config.negative_slope && !node.config.threshold) return activate(x, "relu", node.name);
  if (cls === "Softmax" && (node.config.axis ?? -1) === -1) return softmax(x);
  if (cls === "LeakyReLU") {
    const alpha = typeof node.config.alpha === "number" ? node.config.alpha : typeof node.config.negative_slope === "number" ? node.config.negative_slope : 0.3;
    return { shape: x.shape, data: x.data.map((v) => (v > 0 ? v : alpha * v)) };
  }
  if (IDENTITY.has(cls)) return x;
  const pooling = /^(Global)?(Max|Average)Pooling[123]D$/.exec(cls);
  if (pooling && x.shape.length >= 3) return pooling[1] ? globalPool(node, x, pooling[2] === "Max") : pool(node, x, pooling[2] === "Max");
  if (cls === "Flatten") return { shape: [x.shape[0]!, product(x.shape.slice(1))], data: x.data };
  if (cls === "Reshape") {
    const target = (node.config.target_shape as number[] | undefined) ?? [];
    const known = product(target.filter((d) => d !== -1));
    const shape = target.map((d) => (d === -1 ? product(x.shape.slice(1)) / known : d));
    if (product(shape) !== product(x.shape.slice(1)))
      throw new Disagreement(`layer ${node.name} reshapes [${x.shape.slice(1).join(",")}] to [${target.join(",")}]`);
    return { shape: [x.shape[0]!, ...shape], data: x.data };
  }
  const kind = KERAS_LAYER_KINDS[cls];
  if (!kind) throw new NotCheckable(`layer ${node.name} is a ${cls} (not covered by the composed check)`);
  if (!tensors.length) throw new NotCheckable(`layer ${node.name} (${cls}) has no weights in the source file`);
  const side = sideOf(tensors, "keras", simpleAttributes(node.config));
  const ref = referenceFor(kind);
  if (kind === "linear") {
    const y = await rowwise(node, ref!, side, x, (plan, rows) => {
      shaped(node, x, plan.in as number, `${plan.in} features`);
      Object.assign(plan, {
        batch: rows,
        outputs: Array.from({ length: plan.out as number }, (_, i) => i),
        support: Array.from({ length: plan.in as number }, (_, i) => i),
        flattened: undefined,
      });
      return plan.out as number;
    });
    return activate(y, node.config.activation, node.name);
  }
  if (kind === "batchnorm" || kind === "layernorm") {
    const axis = node.config.axis ?? -1;
    const last = axis === -1 || axis === x.shape.length - 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === x.shape.length - 1));
    if (!last) throw new NotCheckable(`layer ${node.name} normalizes axis ${JSON.stringify(axis)} (only the last axis is covered)`);
    if (kind === "layernorm" && node.config.rms_scaling === true) throw new NotCheckable(`layer ${node.name} uses rms_scaling (not covered)`);
    return rowwise(node, ref!, side, x, (plan, rows) => {
      shaped(node, x, plan.features as number, `${plan.features} features`);
      plan.batch = rows;
      return plan.features as number;
    });
  }
  if (/^(conv[123]d|depthwise_conv[12]d|separable_conv[12]d)$/.test(kind) && x.shape.length >= 3) {
    return activate(await conv(node, kind, side, x), node.config.activation, node.name);
  }
  throw new NotCheckable(`layer ${node.name} is a ${cls} (not covered by the composed check)`);
}

/**
 * The model's outputs for the given inputs (Keras layout, batch first), computed along its
 * config with the source's weights (`weightsOf(layer)`).
 */
export async function composeKeras(
  modelConfig: JsonValue | undefined,
  inputs: readonly Value[],
  weightsOf: (layer: string) => readonly Tensor[],
): Promise<Value[]> {
  const graph = kerasGraph(modelConfig);
  const values = new Map<string, Value>();
  graph.inputs.forEach((input, i) => values.set(input.name, inputs[i]!));
  for (const node of graph.nodes) {
    const xs = node.inputs.map((name) => {
      const v = values.get(name);
      if (!v) throw new NotCheckable(`layer ${node.name} takes ${name}, which the config does not compute before it`);
      return v;
    });
    values.set(node.name, await layer(node, xs, weightsOf(node.layer)));
  }
  return graph.outputs.map((name) => values.get(name)!);
}

export { kerasGraph };
