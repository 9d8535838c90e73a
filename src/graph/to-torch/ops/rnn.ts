import type { Tensor } from "../../../tensor/tensor.js";
import { torchOps, type TorchOp } from "../op.js";
import { blocksOf, zeros } from "../weights.js";
import { unrolledRecurrence } from "./rnn-unrolled.js";

// LSTM, GRU and RNN as nn.LSTM / nn.GRU / nn.RNN (time-major, as ONNX's layout 0). The gate
// blocks are reordered into torch's order (LSTM iofc → ifco, GRU zrh → rzh); ONNX's one bias
// of 2 halves becomes bias_ih and bias_hh. Forms torch's layers do not compute (peepholes,
// clipping, other activations, GRU with linear_before_reset=0, sequence_lens, layout 1, reverse,
// weights computed at run time) are written step by step instead (rnn-unrolled.ts).

interface Family {
  torch: string;
  gates: number;
  /** ONNX gate block i goes to torch position order.indexOf(i): torch block j is ONNX block order[j]. */
  order: number[];
  activations: string[];
}

const FAMILIES: Record<string, Family> = {
  LSTM: { torch: "LSTM", gates: 4, order: [0, 2, 3, 1], activations: ["Sigmoid", "Tanh", "Tanh"] },
  GRU: { torch: "GRU", gates: 3, order: [1, 0, 2], activations: ["Sigmoid", "Tanh"] },
  RNN: { torch: "RNN", gates: 1, order: [0], activations: ["Tanh"] },
};

const recurrent = (name: string) => (op: TorchOp) => {
  const family = FAMILIES[name]!;
  const hidden = op.attrInt("hidden_size");
  const direction = op.attrString("direction", "forward");
  const D = direction === "bidirectional" ? 2 : 1;
  const defaults = Array.from({ length: D }, () => family.activations).flat();
  const activations = op.hasAttr("activations") ? op.attrStrings("activations") : defaults;
  if (activations.length !== defaults.length) op.refuse(`${activations.length} activations given, ${defaults.length} expected`);
  if (op.hasAttr("activation_alpha")) op.refuse("activation_alpha is not covered");
  if (op.hasAttr("activation_beta")) op.refuse("activation_beta is not covered");
  const relu = name === "RNN" && activations.every((a) => a === "Relu");
  const layerForm =
    direction !== "reverse" &&
    !op.hasAttr("clip") &&
    (op.version < 14 || op.attrInt("layout", 0) === 0) &&
    (name !== "LSTM" || op.attrInt("input_forget", 0) === 0) &&
    (name !== "GRU" || op.attrInt("linear_before_reset", 0) === 1) &&
    (relu || activations.every((a, i) => a === defaults[i])) &&
    !op.has(4) &&
    !(name === "LSTM" && op.has(7)) &&
    !(name === "LSTM" && op.has(5) !== op.has(6)) &&
    op.initializer(1) !== undefined &&
    op.initializer(2) !== undefined &&
    (!op.has(3) || op.initializer(3) !== undefined);
  if (!layerForm) return unrolledRecurrence(op, name, hidden, direction, activations);
  const nonlinearity = relu ? ', nonlinearity="relu"' : "";
  const [w, r] = [op.initializer(1)!, op.initializer(2)!];
  const b = op.has(3) ? op.initializer(3) : undefined;
  const G = family.gates * hidden;
  const weights: Record<string, Tensor> = {};
  for (let d = 0; d < D; d++) {
    const suffix = d === 1 ? "_l0_reverse" : "_l0";
    weights[`weight_ih${suffix}`] = blocksOf(w, d, family.order);
    weights[`weight_hh${suffix}`] = blocksOf(r, d, family.order);
    weights[`bias_ih${suffix}`] = b ? blocksOf(b, d, family.order, [0, G]) : zeros(w, [G]);
    weights[`bias_hh${suffix}`] = b ? blocksOf(b, d, family.order, [G, 2 * G]) : zeros(w, [G]);
  }
  const ctor = `nn.${family.torch}(${w.shape[2]}, ${hidden}${D === 2 ? ", bidirectional=True" : ""}${nonlinearity})`;
  const layer = op.layer(ctor, weights);
  const x = op.input(0);
  const h0 = op.has(5) ? op.input(5) : undefined;
  const c0 = name === "LSTM" && op.has(6) ? op.input(6) : undefined;
  const state = name === "LSTM" ? (h0 ? `, (${h0}, ${c0})` : "") : h0 ? `, ${h0}` : "";
  const out = op.wants(0) ? op.temp("sequence") : "_";
  const finals = name === "LSTM" ? `(${op.wants(1) ? op.output(1) : "_"}, ${op.wants(2) ? op.output(2) : "_"})` : op.wants(1) ? op.output(1) : "_";
  op.line(`${out}, ${finals} = ${layer}(${x}${state})`);
  // torch gives [seq, batch, D * hidden]; ONNX's Y is [seq, D, batch, hidden].
  if (op.wants(0)) op.line(`${op.output(0)} = ${out}.reshape(${out}.shape[0], ${out}.shape[1], ${D}, ${hidden}).permute(0, 2, 1, 3)`);
  for (let i = 0; i < op.outputCount; i++) if (op.wants(i)) op.setDtype(i, op.dtype(0));
};

for (const name of Object.keys(FAMILIES)) torchOps.register({ domain: "", op: name, since: 7, handler: recurrent(name) });
