import { type TorchHandler, type TorchOp, registerAll, torchOps } from "../op.js";
import { pyFloat } from "../python.js";

// Activations: torch's own function where its formula is ONNX's, an explicit formula where the
// constants differ (HardSigmoid's alpha and beta, Selu's).

const call =
  (fn: string): TorchHandler =>
  (op) =>
    op.assign(`${fn}(${op.input(0)})`, { rank: op.rank(0) });

registerAll(
  {
    Relu: call("torch.relu"),
    Sigmoid: call("torch.sigmoid"),
    Tanh: call("torch.tanh"),
    LeakyRelu: (op) => op.assign(`F.leaky_relu(${op.input(0)}, ${pyFloat(op.attrFloat("alpha", 0.01))})`, { rank: op.rank(0) }),
    Elu: (op) => op.assign(`F.elu(${op.input(0)}, ${pyFloat(op.attrFloat("alpha", 1))})`, { rank: op.rank(0) }),
    Selu: (op) => {
      const [alpha, gamma] = [op.attrFloat("alpha", 1.67326319217681884765625), op.attrFloat("gamma", 1.05070102214813232421875)];
      const x = op.input(0);
      op.assign(`${pyFloat(gamma)} * torch.where(${x} > 0, ${x}, ${pyFloat(alpha)} * (torch.exp(${x}) - 1))`);
    },
    ThresholdedRelu: (op) => {
      const x = op.input(0);
      op.assign(`torch.where(${x} > ${pyFloat(op.attrFloat("alpha", 1))}, ${x}, torch.zeros_like(${x}))`);
    },
    HardSigmoid: (op) => {
      op.assign(`torch.clamp(${pyFloat(op.attrFloat("alpha", 0.2))} * ${op.input(0)} + ${pyFloat(op.attrFloat("beta", 0.5))}, 0, 1)`);
    },
    PRelu: (op) => {
      const x = op.input(0);
      op.assign(`torch.where(${x} < 0, ${x} * ${op.input(1)}, ${x})`, { rank: op.rank(0) });
    },
  },
  6,
);
registerAll({ Softsign: call("F.softsign"), Softplus: call("F.softplus") }, 1);
registerAll(
  {
    Shrink: (op) => {
      const [bias, lambd] = [op.attrFloat("bias", 0), op.attrFloat("lambd", 0.5)];
      const x = op.input(0);
      const [b, l] = [pyFloat(bias), pyFloat(lambd)];
      op.assign(`torch.where(${x} < -${l}, ${x} + ${b}, torch.where(${x} > ${l}, ${x} - ${b}, torch.zeros_like(${x})))`, { rank: op.rank(0) });
    },
  },
  9,
);
registerAll({ Celu: (op) => op.assign(`F.celu(${op.input(0)}, ${pyFloat(op.attrFloat("alpha", 1))})`) }, 12);
registerAll({ HardSwish: call("F.hardswish") }, 14);
registerAll({ Mish: call("F.mish") }, 18);
registerAll(
  {
    Gelu: (op) => {
      const approximate = op.attrString("approximate", "none");
      if (approximate !== "none" && approximate !== "tanh") op.refuse(`approximate '${approximate}' is not covered`);
      op.assign(`F.gelu(${op.input(0)}${approximate === "tanh" ? ', approximate="tanh"' : ""})`);
    },
  },
  20,
);

// Softmax before opset 13 works on the input flattened to 2-D at `axis`; from 13 on one axis.
const softmax =
  (fn: string, flattened: boolean): TorchHandler =>
  (op) => {
    const x = op.input(0);
    const axis = op.attrInt("axis", flattened ? 1 : -1);
    op.assign(flattened ? `torch.${fn}(${x}.flatten(${axis}), -1).reshape(${x}.shape)` : `torch.${fn}(${x}, ${axis})`, { rank: op.rank(0) });
  };
// Hardmax: 1 at the first maximum along the axis, 0 elsewhere.
const hardmax = (flattened: boolean) => (op: TorchOp) => {
  const x = op.input(0);
  const axis = op.attrInt("axis", flattened ? 1 : -1);
  const onehot = (v: string, a: string | number) => `torch.movedim(F.one_hot(torch.argmax(${v}, ${a}), ${v}.shape[${a}]), -1, ${a}).to(${v}.dtype)`;
  op.assign(flattened ? `${onehot(`${x}.flatten(${axis})`, -1)}.reshape(${x}.shape)` : onehot(x, axis), { rank: op.rank(0) });
};
torchOps.register({ domain: "", op: "Hardmax", since: 1, until: 12, handler: hardmax(true) });
torchOps.register({ domain: "", op: "Hardmax", since: 13, handler: hardmax(false) });

for (const [op, fn] of [
  ["Softmax", "softmax"],
  ["LogSoftmax", "log_softmax"],
] as const) {
  torchOps.register({ domain: "", op, since: 1, until: 12, handler: softmax(fn, true) });
  torchOps.register({ domain: "", op, since: 13, handler: softmax(fn, false) });
}
