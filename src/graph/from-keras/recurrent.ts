import type { Tensor } from "../../tensor/tensor.js";
import { floats, int, ints, string, strings, type Attribute, type Dim } from "../ir.js";
import { activationName } from "./activations.js";
import { known, type KValue, type Lowering } from "./context.js";
import { registerLayers } from "./registry.js";
import { compactSteps, spreadSteps } from "./recurrent-mask.js";
import { backwardLayerDifference } from "../../keras/bidirectional.js";

// LSTM, GRU (reset_after either way: ONNX linear_before_reset) and SimpleRNN, alone or inside
// Bidirectional, as ONNX's recurrent ops. Keras keeps a kernel [in, gates*units] with gates
// i,f,c,o (LSTM) or z,r,h (GRU); ONNX wants W [directions, gates*units, in] with LSTM gates
// i,o,f,c: packed when written. Activations are Keras' (tanh, and sigmoid or Keras 2's 0.2-slope
// hard_sigmoid for the gates).

interface Cell {
  op: "LSTM" | "GRU" | "RNN";
  gates: number;
  /** ONNX gate block i = Keras gate block order[i]. */
  order: number[];
}

const CELLS: Record<string, Cell> = {
  LSTM: { op: "LSTM", gates: 4, order: [0, 3, 1, 2] },
  CuDNNLSTM: { op: "LSTM", gates: 4, order: [0, 3, 1, 2] },
  GRU: { op: "GRU", gates: 3, order: [0, 1, 2] },
  SimpleRNN: { op: "RNN", gates: 1, order: [0] },
};

/** One Keras activation as an ONNX recurrent activation (name, alpha/beta it consumes). */
function onnxActivation(lower: Lowering, value: unknown, option: string): { name: string; alpha?: number; beta?: number } {
  const name = activationName(value);
  switch (name) {
    case "sigmoid":
      return { name: "Sigmoid" };
    case "tanh":
      return { name: "Tanh" };
    case "relu":
      return { name: "Relu" };
    case "softsign":
      return { name: "Softsign" };
    case "softplus":
      return { name: "Softplus" };
    case "linear":
      return { name: "Affine", alpha: 1, beta: 0 };
    case "hard_sigmoid":
      return lower.options.kerasMajor >= 3 ? { name: "HardSigmoid", alpha: 1 / 6, beta: 0.5 } : { name: "HardSigmoid", alpha: 0.2, beta: 0.5 };
    default:
      return lower.refuse(`${option}=${JSON.stringify(value)}`, "has no ONNX recurrent activation");
  }
}

/** [in, G*H] kernels of each direction → [D, G*H, in], gate blocks reordered. */
function packKernel(parts: Float32Array[], rows: number, gates: number, units: number, order: number[]): Float32Array {
  const cols = gates * units;
  const out = new Float32Array(parts.length * cols * rows);
  parts.forEach((k, d) => {
    for (let g = 0; g < gates; g++) {
      const from = order[g]! * units;
      for (let u = 0; u < units; u++) for (let r = 0; r < rows; r++) out[d * cols * rows + (g * units + u) * rows + r] = k[r * cols + from + u]!;
    }
  });
  return out;
}

/** Keras biases of each direction → ONNX B [D, 2*G*H] (input bias, recurrent bias). */
function packBias(parts: Float32Array[], gates: number, units: number, order: number[], resetAfter: boolean): Float32Array {
  const cols = gates * units;
  const out = new Float32Array(parts.length * 2 * cols);
  parts.forEach((b, d) => {
    for (let half = 0; half < (resetAfter ? 2 : 1); half++) {
      for (let g = 0; g < gates; g++) for (let u = 0; u < units; u++) out[d * 2 * cols + half * cols + g * units + u] = b[half * cols + order[g]! * units + u]!;
    }
  });
  return out;
}

interface Directions {
  config: Record<string, unknown>;
  /** Weight role prefixes per direction ("" alone; forward_/backward_ in a Bidirectional). */
  scopes: string[];
  /** Masked steps output zeros (Bidirectional forces Keras' zero_output_for_mask when returning sequences). */
  zeroOutputForMask: boolean;
}

/**
 * Lowers a recurrent layer; returns its outputs held channels-last: the sequence y only when the
 * layer returns sequences (else nothing would read it), the last states yh and yc.
 */
function recurrent(
  lower: Lowering,
  cell: Cell,
  x: KValue,
  dirs: Directions,
): { y?: string; yh: string; yc?: string; steps: KValue["shape"][number]; units: number; directions: number } {
  // y is [N, T, D, H]; yh, yc [D, N, H].
  const c = dirs.config;
  if (c.stateful === true) lower.refuse("stateful=true");
  if (c.time_major === true) lower.refuse("time_major=true");
  if (lower.call.keywordInputs.mask || lower.call.keywordInputs.initial_state)
    lower.refuse(lower.call.keywordInputs.mask ? "mask (given as a call argument)" : "initial_state", "is not implemented");
  const units = typeof c.units === "number" ? c.units : lower.refuse("units", "is missing");
  if (x.shape.length !== 3) lower.refuse(`an input of rank ${x.shape.length}`, "where a recurrent layer takes [batch, steps, features]");
  const features = x.shape[2];
  const resetAfter = cell.op === "GRU" && c.reset_after === true;
  const kernels: Tensor[] = [];
  const recurrents: Tensor[] = [];
  const biases: Tensor[] = [];
  const useBias = c.use_bias !== false;
  for (const scope of dirs.scopes) {
    lower.scope = scope || undefined;
    kernels.push(lower.weight("kernel", [known(features) ? features : undefined, cell.gates * units]));
    recurrents.push(lower.weight("recurrent_kernel", [units, cell.gates * units]));
    if (useBias) biases.push(lower.weight("bias", resetAfter ? [2, cell.gates * units] : [cell.gates * units]));
    lower.scope = undefined;
  }
  const D = dirs.scopes.length;
  const G = cell.gates;
  const inputs = known(features) ? features : lower.refuse("an input with unknown features");
  const gates = cell.gates > 1 ? [`gates(axis 1: ${cell.order.join(",")})`] : [];
  const stack = D === 2 ? "stack(forward, backward)" : "reshape(add directions axis)";
  const kernelSteps = (rows: number) => [...gates, "transpose(1,0)", `${stack} → [${D},${G * units},${rows}]`];
  const biasSteps = [
    ...gates.map((g) => g.replace("axis 1", "axis -1")),
    resetAfter ? "reshape(input bias, recurrent bias)" : "concat(input bias, zeros as recurrent bias)",
    `${stack} → [${D},${2 * G * units}]`,
  ];
  const W = lower.computed(`${lower.call.id}/W`, [D, G * units, inputs], kernels, kernelSteps(inputs), (p) => packKernel(p, inputs, G, units, cell.order));
  const R = lower.computed(`${lower.call.id}/R`, [D, G * units, units], recurrents, kernelSteps(units), (p) => packKernel(p, units, G, units, cell.order));
  const B = useBias ? lower.computed(`${lower.call.id}/B`, [D, 2 * G * units], biases, biasSteps, (p) => packBias(p, G, units, cell.order, resetAfter)) : "";
  const acts = [
    ...(cell.op === "RNN" ? [] : [onnxActivation(lower, c.recurrent_activation ?? "sigmoid", "recurrent_activation")]),
    onnxActivation(lower, c.activation ?? "tanh", "activation"),
    ...(cell.op === "LSTM" ? [onnxActivation(lower, c.activation ?? "tanh", "activation")] : []),
  ];
  const perDirection = Array.from({ length: D }, () => acts).flat();
  const alphas = perDirection.flatMap((a) => (a.alpha === undefined ? [] : [a.alpha]));
  const betas = perDirection.flatMap((a) => (a.beta === undefined ? [] : [a.beta]));
  const attributes: Record<string, Attribute> = {
    hidden_size: int(units),
    direction: string(D === 2 ? "bidirectional" : c.go_backwards === true ? "reverse" : "forward"),
    activations: strings(perDirection.map((a) => a.name)),
  };
  if (alphas.length) attributes.activation_alpha = floats(alphas);
  if (betas.length) attributes.activation_beta = floats(betas);
  if (cell.op === "GRU") attributes.linear_before_reset = int(resetAfter ? 1 : 0);
  const held = lower.toLast(x);
  const compact = x.mask ? compactSteps(lower, held.name, x.mask) : undefined;
  const seq = lower.op("Transpose", [compact?.x ?? held.name], { perm: ints([1, 0, 2]) });
  const outs = lower.node(cell.op, [seq, W, R, B, ...(compact ? [compact.lengths] : [])], attributes, cell.op === "LSTM" ? 3 : 2);
  if (c.return_sequences !== true) return { yh: outs[1]!, yc: outs[2], steps: x.shape[1]!, units, directions: D };
  let y = lower.op("Transpose", [outs[0]!], { perm: ints([2, 0, 1, 3]) });
  if (compact) {
    const reverse = D === 2 ? [false, true] : [c.go_backwards === true];
    y = spreadSteps(lower, y, compact, reverse, dirs.zeroOutputForMask || c.zero_output_for_mask === true);
  }
  return { y, yh: outs[1]!, yc: outs[2], steps: x.shape[1]!, units, directions: D };
}

/** [N, T, D, H] → [N, T, D*H]; Keras' go_backwards sequence runs from the last step. */
function sequenceOutput(lower: Lowering, y: string, reversed: boolean): string {
  const out = lower.op("Reshape", [y, lower.constant("int64", [0, 0, -1])]);
  return reversed ? stepsReversed(lower, out) : out;
}

/** Axis 1 (the steps) in reverse order. */
function stepsReversed(lower: Lowering, name: string): string {
  const [start, end, axis, step] = [[-1], [-(2 ** 62)], [1], [-1]].map((v) => lower.constant("int64", v));
  return lower.op("Slice", [name, start!, end!, axis!, step!]);
}

/** [N, T, F] with the steps in reverse order (held channels-last). */
function reversedSteps(lower: Lowering, x: KValue): KValue {
  const held = lower.toLast(x);
  return { ...held, name: stepsReversed(lower, held.name) };
}

/** [D, N, H] → [N, D*H]. */
function stateOutput(lower: Lowering, h: string): string {
  return lower.op("Reshape", [lower.op("Transpose", [h], { perm: ints([1, 0, 2]) }), lower.constant("int64", [0, -1])]);
}

/** The mask of a recurrent layer's output: its input's when returning sequences (unreversed even with go_backwards, as in Keras). */
function mask(x: KValue, config: Record<string, unknown>): string | undefined {
  return config.return_sequences === true ? x.mask : undefined;
}

for (const [cls, cell] of Object.entries(CELLS)) {
  registerLayers([cls], (lower, xs) => {
    const x = xs[0]!;
    const c = lower.config;
    const r = recurrent(lower, cell, x, { config: c, scopes: [""], zeroOutputForMask: false });
    const sequences = c.return_sequences === true;
    const y: KValue = sequences
      ? { name: sequenceOutput(lower, r.y!, c.go_backwards === true), shape: [x.shape[0]!, r.steps, r.units], dtype: "float32", mask: mask(x, c) }
      : { name: stateOutput(lower, r.yh), shape: [x.shape[0]!, r.units], dtype: "float32" };
    if (c.return_state !== true) return y;
    const state = (name: string): KValue => ({ name: stateOutput(lower, name), shape: [x.shape[0]!, r.units], dtype: "float32" });
    return [y, state(r.yh), ...(r.yc ? [state(r.yc)] : [])];
  });
}

registerLayers(["Bidirectional"], (lower, xs) => {
  const x = xs[0]!;
  const c = lower.config;
  const inner = c.layer as { class_name?: string; config?: Record<string, unknown> } | undefined;
  const cell = inner?.class_name ? CELLS[inner.class_name] : undefined;
  if (!cell || !inner?.config) return lower.refuse(`layer=${inner?.class_name ?? "?"}`, "(LSTM, GRU and SimpleRNN are implemented)");
  const differs = backwardLayerDifference(inner, c.backward_layer);
  if (differs) lower.refuse(`backward_layer with ${differs}`, "is not implemented (only the wrapped layer's copy running the other way)");
  const backwards = inner.config.go_backwards === true;
  if (backwards && x.mask) lower.refuse("go_backwards=true", "with a mask is not implemented");
  const mode = c.merge_mode === undefined ? "concat" : c.merge_mode;
  const sequences = inner.config.return_sequences === true;
  // go_backwards: the forward layer runs from the last step and the backward one from the first,
  // each output in the order it ran; that is the usual pair run over the steps reversed.
  const r = recurrent(lower, cell, backwards ? reversedSteps(lower, x) : x, {
    config: inner.config,
    scopes: ["forward", "backward"],
    zeroOutputForMask: sequences,
  });
  const N = x.shape[0]!;
  // [N, (T,) 2, H] for the merge modes that combine the two directions (made only when one asks: concat reads the outputs as they are).
  const split = () => (sequences ? r.y! : lower.op("Transpose", [r.yh], { perm: ints([1, 0, 2]) }));
  const axis = sequences ? 2 : 1;
  const shape = sequences ? [N, r.steps, r.units] : [N, r.units];
  const merged = merge(lower, mode, r, split, sequences, axis, shape, x);
  if (inner.config.return_state !== true) return merged;
  // Keras' order: the output, then the forward layer's states (h, then c), then the backward layer's.
  const state = (s: string, d: number): KValue => ({
    name: lower.op("Gather", [s, lower.constant("int64", [d], [])], { axis: int(0) }),
    shape: [N, r.units],
    dtype: "float32",
  });
  return [merged, ...[0, 1].flatMap((d) => [state(r.yh, d), ...(r.yc ? [state(r.yc, d)] : [])])];
});

/** The two directions' outputs combined as merge_mode says. */
function merge(
  lower: Lowering,
  mode: unknown,
  r: ReturnType<typeof recurrent>,
  split: () => string,
  sequences: boolean,
  axis: number,
  shape: Dim[],
  x: KValue,
): KValue {
  const masked = (v: Omit<KValue, "mask">): KValue => (sequences && x.mask ? { ...v, mask: x.mask } : v);
  const reduce = (op: string) => lower.op(op, [split(), lower.constant("int64", [axis])], { keepdims: int(0) });
  switch (mode) {
    case "concat":
      return masked({
        name: sequences ? sequenceOutput(lower, r.y!, false) : stateOutput(lower, r.yh),
        shape: [...shape.slice(0, -1), 2 * r.units],
        dtype: "float32",
      });
    case "sum":
      return masked({ name: reduce("ReduceSum"), shape, dtype: "float32" });
    case "ave":
      return masked({ name: lower.op("Mul", [reduce("ReduceSum"), lower.scalar(0.5)]), shape, dtype: "float32" });
    case "mul": {
      const [f, b] = lower.node("Split", [split()], { axis: int(axis) }, 2);
      return masked({ name: lower.op("Squeeze", [lower.op("Mul", [f!, b!]), lower.constant("int64", [axis])]), shape, dtype: "float32" });
    }
    default:
      return lower.refuse(`merge_mode=${JSON.stringify(mode)}`);
  }
}
