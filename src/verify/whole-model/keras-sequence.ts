import type { Tensor } from "../../tensor/tensor.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { simpleAttributes } from "../../keras/model-config.js";
import { backwardLayerDifference } from "../../keras/bidirectional.js";
import { KERAS_LAYER_KINDS } from "../../keras/layer-kinds.js";
import { NotCheckable } from "../params.js";
import { Disagreement, type LayerSide, type Reference } from "../reference.js";
import { referenceFor } from "../references.js";
import type { RecurrentPlan } from "../layers/recurrent.js";
import { sideOf } from "../pairing.js";
import { seededRandom } from "../random.js";
import type { KerasGraph, KerasNode } from "./keras-graph.js";
import { loadedSide, shaped, type Value } from "./value.js";

// Sequence layers in the composed check: Embedding, LSTM, GRU, SimpleRNN and Bidirectional,
// computed by verify's single-layer references (embedding.ts, recurrent.ts) on the whole
// [batch, steps, features] input. The check feeds no masked step (an Embedding with mask_zero is
// given ids from 1, a Masking layer must see no step equal to its mask_value), so a mask changes
// nothing here; masked semantics are the lowering's tests' to prove.

type Weighted = (node: KerasNode, x: Value, side: LayerSide<Tensor>, ref: Reference<unknown>, kind: string) => Promise<Value | Value[]>;

export const embedding: Weighted = async (node, x, side, ref) => {
  const plan = ref.plan(side, side, seededRandom(0)) as { vocabulary: number; dim: number; ids: number[] };
  const ids = Array.from(x.data, (v) => Math.trunc(v));
  const outside = ids.find((id) => id < 0 || id >= plan.vocabulary);
  if (outside !== undefined) throw new NotCheckable(`layer ${node.name} is fed id ${outside}, outside its ${plan.vocabulary} rows`);
  if (node.config.mask_zero === true && ids.includes(0))
    throw new NotCheckable(`layer ${node.name} masks id 0 (masked steps are not covered by the composed check)`);
  plan.ids = ids;
  const y = ref.forward(await loadedSide(side), plan, new Float64Array(0), "source");
  return { shape: [...x.shape, plan.dim], data: y };
};

/** [N, T, F] with the steps in reverse order. */
function reverseSteps(x: Value): Value {
  const [N, T] = x.shape as [number, number];
  const F = x.data.length / N / T;
  const data = new Float64Array(x.data.length);
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) data.set(x.data.subarray((n * T + t) * F, (n * T + t + 1) * F), (n * T + (T - 1 - t)) * F);
  return { shape: x.shape, data };
}

/** Step `at` of each row of [N, T, W], cut to features [from, from + width). */
function step(y: Value, at: number, from = 0, width = y.shape[2]! - from): Value {
  const [N, T, W] = y.shape as [number, number, number];
  const data = new Float64Array(N * width);
  for (let n = 0; n < N; n++) data.set(y.data.subarray((n * T + at) * W + from, (n * T + at) * W + from + width), n * width);
  return { shape: [N, width], data };
}

/** Features [from, from + width) of every step of [N, T, W]. */
function features(y: Value, from: number, width: number): Value {
  const [N, T, W] = y.shape as [number, number, number];
  const data = new Float64Array(N * T * width);
  for (let r = 0; r < N * T; r++) data.set(y.data.subarray(r * W + from, r * W + from + width), r * width);
  return { shape: [N, T, width], data };
}

function refuseOptions(node: KerasNode, config: Record<string, JsonValue>): void {
  for (const option of ["stateful", "time_major"])
    if (config[option] === true) throw new NotCheckable(`layer ${node.name} has ${option}=true (not covered by the composed check)`);
}

interface Sequence {
  /** [N, T, directions·H], each direction's steps in input order. */
  y: Value;
  hidden: number;
  /** Each direction's final cell state [N, H] (LSTM). */
  cells: Value[];
}

async function runSequence(node: KerasNode, x: Value, side: LayerSide<Tensor>, ref: Reference<unknown>): Promise<Sequence> {
  if (x.shape.length !== 3) throw new NotCheckable(`layer ${node.name} takes an input of rank ${x.shape.length} (not [batch, steps, features])`);
  const plan = ref.plan(side, side, seededRandom(0)) as RecurrentPlan;
  shaped(node, x, plan.input, `${plan.input} features`);
  plan.batch = x.shape[0]!;
  plan.steps = x.shape[1]!;
  plan.finalCells = [];
  const data = ref.forward(await loadedSide(side), plan, x.data, "source");
  const H = plan.hidden;
  const cells = Array.from({ length: plan.directions }, (_, d) => {
    const data = new Float64Array(plan.batch * H);
    plan.finalCells!.forEach((perDirection, n) => data.set(perDirection[d]!, n * H));
    return { shape: [plan.batch, H], data };
  });
  return { y: { shape: [plan.batch, plan.steps, plan.directions * H], data }, hidden: H, cells };
}

/** A recurrent layer's return_state values after its output: h, then c for an LSTM. */
function states(kind: string, h: Value, c: Value | undefined): Value[] {
  return kind === "lstm" ? [h, c!] : [h];
}

/** LSTM, GRU, SimpleRNN: go_backwards runs over the reversed steps and returns them in that order, as Keras does. */
export const recurrent: Weighted = async (node, x, side, ref, kind) => {
  refuseOptions(node, node.config);
  const backwards = node.config.go_backwards === true;
  const { y, cells } = await runSequence(node, backwards ? reverseSteps(x) : x, side, ref);
  const last = step(y, y.shape[1]! - 1);
  const output = node.config.return_sequences === true ? y : last;
  return node.config.return_state === true ? [output, ...states(kind, last, cells[0])] : output;
};

const MERGES: Record<string, (a: number, b: number) => number> = {
  sum: (a, b) => a + b,
  mul: (a, b) => a * b,
  ave: (a, b) => (a + b) / 2,
};

/**
 * Bidirectional(LSTM/GRU/SimpleRNN): the reference runs the forward and backward weights and
 * gives [forward, backward] features per step with the backward ones realigned to the input's
 * steps (Keras' return_sequences output); the last output of the backward pass is at step 0.
 * An explicit backward_layer is covered when it is the one Keras makes by default.
 */
export async function bidirectional(node: KerasNode, x: Value, tensors: readonly Tensor[]): Promise<Value | Value[]> {
  const inner = node.config.layer as { class_name?: string; config?: Record<string, JsonValue> } | undefined;
  const kind = inner?.class_name ? KERAS_LAYER_KINDS[inner.class_name] : undefined;
  if (!inner?.config || (kind !== "lstm" && kind !== "gru" && kind !== "rnn"))
    throw new NotCheckable(`layer ${node.name} wraps a ${inner?.class_name ?? "layer"} (not covered by the composed check)`);
  const differs = backwardLayerDifference(inner, node.config.backward_layer);
  if (differs) throw new NotCheckable(`layer ${node.name} has a backward_layer with ${differs} (not covered by the composed check)`);
  refuseOptions(node, inner.config);
  const mode = node.config.merge_mode ?? "concat";
  if (mode !== "concat" && !(typeof mode === "string" && MERGES[mode]))
    throw new NotCheckable(`layer ${node.name} has merge_mode=${JSON.stringify(mode)} (not covered by the composed check)`);
  if (!tensors.length) throw new NotCheckable(`layer ${node.name} (Bidirectional) has no weights in the source file`);
  const side = sideOf(tensors, "keras", { ...simpleAttributes(inner.config), keras_major: node.kerasMajor });
  // go_backwards (the forward weights run from the last step, the backward ones from the first,
  // each returning its steps in the order it ran) is the usual pair over the reversed steps.
  const steps = inner.config.go_backwards === true ? reverseSteps(x) : x;
  const { y, hidden, cells } = await runSequence(node, steps, side, referenceFor(kind)!);
  if (y.shape[2] !== 2 * hidden) throw new Disagreement(`layer ${node.name} holds one direction's weights, a Bidirectional two`);
  const sequences = inner.config.return_sequences === true;
  const lastForward = step(y, y.shape[1]! - 1, 0, hidden);
  const lastBackward = step(y, 0, hidden);
  const [forward, backward] = sequences ? [features(y, 0, hidden), features(y, hidden, hidden)] : [lastForward, lastBackward];
  const f = MERGES[mode as string];
  const merged =
    mode === "concat"
      ? sequences
        ? y
        : { shape: [forward.shape[0]!, 2 * hidden], data: concatRows(forward, backward) }
      : { shape: forward.shape, data: forward.data.map((v, i) => f!(v, backward.data[i]!)) };
  // Keras' order: the output, then the forward layer's states, then the backward layer's.
  return inner.config.return_state === true ? [merged, ...states(kind, lastForward, cells[0]), ...states(kind, lastBackward, cells[1])] : merged;
}

/** Two [N, H] values side by side: [N, 2H]. */
function concatRows(a: Value, b: Value): Float64Array {
  const [N, H] = a.shape as [number, number];
  const out = new Float64Array(N * 2 * H);
  for (let n = 0; n < N; n++) {
    out.set(a.data.subarray(n * H, (n + 1) * H), n * 2 * H);
    out.set(b.data.subarray(n * H, (n + 1) * H), n * 2 * H + H);
  }
  return out;
}

/** Masking: the identity when no step of the input equals mask_value in every feature (the check's seeded inputs). */
export function masking(node: KerasNode, x: Value): Value {
  const value = typeof node.config.mask_value === "number" ? node.config.mask_value : 0;
  const F = x.shape[x.shape.length - 1]!;
  for (let r = 0; r < x.data.length / F; r++)
    if (x.data.subarray(r * F, (r + 1) * F).every((v) => v === value))
      throw new NotCheckable(`layer ${node.name} masks a step of the seeded input (masked steps are not covered by the composed check)`);
  return x;
}

/**
 * The ids an input may be fed when it feeds Embedding layers: [from, to) indexes every such
 * table, from 1 when one of them masks id 0. Undefined for an input no Embedding takes.
 */
export function embeddingIds(graph: KerasGraph, input: string): { from: number; to: number } | undefined {
  const tables = graph.nodes.filter((n) => n.className === "Embedding" && n.inputs.includes(input));
  if (!tables.length) return undefined;
  const rows = tables.map((n) => (typeof n.config.input_dim === "number" ? n.config.input_dim : 0));
  const from = tables.some((n) => n.config.mask_zero === true) ? 1 : 0;
  return { from, to: Math.min(...rows) };
}

/**
 * MultiHeadAttention over one sequence (query, value and key the same value): verify's attention
 * reference on each sample's [steps, features]. Cross-attention, masks, value_dim ≠ key_dim and
 * other output shapes are not covered.
 */
export async function selfAttention(node: KerasNode, xs: Value[], side: LayerSide<Tensor>, ref: Reference<unknown>): Promise<Value> {
  const x = xs[0]!;
  if (xs.some((v) => v !== x)) throw new NotCheckable(`layer ${node.name} attends from one value to another (only self-attention is covered)`);
  const c = node.config;
  const covered =
    (c.value_dim === undefined || c.value_dim === null || c.value_dim === c.key_dim) &&
    (c.output_shape === undefined || c.output_shape === null) &&
    (c.attention_axes === undefined || c.attention_axes === null) &&
    !Object.values(node.keywords).some((v) => v === true);
  if (!covered || x.shape.length !== 3) throw new NotCheckable(`layer ${node.name}'s MultiHeadAttention options are not covered by the composed check`);
  const plan = ref.plan(side, side, seededRandom(0)) as { embed: number; length: number };
  shaped(node, x, plan.embed, `${plan.embed} features`);
  const [N, T, E] = x.shape as [number, number, number];
  plan.length = T;
  const loaded = await loadedSide(side);
  const y = new Float64Array(N * T * E);
  for (let n = 0; n < N; n++) y.set(ref.forward(loaded, plan, x.data.subarray(n * T * E, (n + 1) * T * E), "source"), n * T * E);
  return { shape: [N, T, E], data: y };
}
