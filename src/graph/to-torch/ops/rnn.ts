import type { Tensor } from "../../../tensor/tensor.js";
import { torchOps, type TorchOp } from "../op.js";
import { blocksOf, zeros } from "../weights.js";

// LSTM, GRU and RNN as nn.LSTM / nn.GRU / nn.RNN (time-major, as ONNX's layout 0). The gate
// blocks are reordered into torch's order (LSTM iofc → ifco, GRU zrh → rzh); ONNX's one bias
// of 2 halves becomes bias_ih and bias_hh. Forms torch's layers do not compute (peepholes,
// clipping, other activations, GRU with linear_before_reset=0, sequence_lens) are refused.

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
  if (direction === "reverse") op.refuse("direction 'reverse' is not covered (forward and bidirectional are)");
  const D = direction === "bidirectional" ? 2 : 1;
  if (op.hasAttr("clip")) op.refuse(`clip ${op.attrFloat("clip")} is not covered`);
  if (op.version >= 14 && op.attrInt("layout", 0) !== 0) op.refuse("layout=1 is not covered");
  if (name === "LSTM" && op.attrInt("input_forget", 0)) op.refuse("input_forget=1 is not covered");
  if (name === "GRU" && op.attrInt("linear_before_reset", 0) !== 1)
    op.refuse("linear_before_reset=0 is not covered (torch's GRU applies the reset gate after the linear map)");
  let nonlinearity = "";
  const activations = op.hasAttr("activations") ? op.attrStrings("activations") : [];
  if (op.hasAttr("activation_alpha")) op.attrFloats("activation_alpha");
  if (op.hasAttr("activation_beta")) op.attrFloats("activation_beta");
  for (let d = 0; d < D && activations.length > 0; d++) {
    const mine = activations.slice(d * family.activations.length, (d + 1) * family.activations.length);
    const relu = name === "RNN" && mine[0] === "Relu";
    if (relu) nonlinearity = ', nonlinearity="relu"';
    else if (mine.some((a, i) => a !== family.activations[i])) op.refuse(`activations ${activations.join(",")} are not covered`);
  }
  if (op.has(4)) op.refuse("sequence_lens is not covered");
  if (op.has(7)) op.refuse("peepholes (input P) are not covered");
  const [w, r] = [op.initializer(1), op.initializer(2)];
  const b = op.has(3) ? op.initializer(3) : undefined;
  if (!w || !r || (op.has(3) && !b)) op.refuse("weights computed at run time are not covered");
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
  if (name === "LSTM" && (h0 === undefined) !== (c0 === undefined)) op.refuse("initial_h without initial_c (or the reverse) is not covered");
  const state = name === "LSTM" ? (h0 ? `, (${h0}, ${c0})` : "") : h0 ? `, ${h0}` : "";
  const out = op.wants(0) ? op.temp("sequence") : "_";
  const finals = name === "LSTM" ? `(${op.wants(1) ? op.output(1) : "_"}, ${op.wants(2) ? op.output(2) : "_"})` : op.wants(1) ? op.output(1) : "_";
  op.line(`${out}, ${finals} = ${layer}(${x}${state})`);
  // torch gives [seq, batch, D * hidden]; ONNX's Y is [seq, D, batch, hidden].
  if (op.wants(0)) op.line(`${op.output(0)} = ${out}.reshape(${out}.shape[0], ${out}.shape[1], ${D}, ${hidden}).permute(0, 2, 1, 3)`);
  for (let i = 0; i < op.outputCount; i++) if (op.wants(i)) op.setDtype(i, op.dtype(0));
};

for (const name of Object.keys(FAMILIES)) torchOps.register({ domain: "", op: name, since: 7, handler: recurrent(name) });
