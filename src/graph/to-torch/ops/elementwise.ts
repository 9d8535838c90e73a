import { dtypeKind } from "../../../tensor/dtype.js";
import { type TorchHandler, type TorchOp, registerAll, torchOps } from "../op.js";
import { pyFloat, torchDtype } from "../python.js";

// Element-wise arithmetic, comparison and logic with numpy broadcasting (ONNX opset 7 on).

const isInteger = (op: TorchOp, i: number): boolean => {
  const d = op.dtype(i);
  return d !== undefined && (dtypeKind(d) === "int" || dtypeKind(d) === "uint");
};

const binary =
  (format: (a: string, b: string) => string): TorchHandler =>
  (op) => {
    const [a, b] = [op.input(0), op.scalarOr(1)];
    op.assign(format(a, b), { rank: "same" });
  };

const compare =
  (fn: string): TorchHandler =>
  (op) =>
    op.assign(`torch.${fn}(${op.input(0)}, ${op.scalarOr(1)})`, { dtype: "bool", rank: "same" });

const unary =
  (fn: string): TorchHandler =>
  (op) =>
    op.assign(`torch.${fn}(${op.input(0)})`, { rank: "same" });

registerAll(
  {
    Add: binary((a, b) => `${a} + ${b}`),
    Sub: binary((a, b) => `${a} - ${b}`),
    Mul: binary((a, b) => `${a} * ${b}`),
    Equal: compare("eq"),
    Greater: compare("gt"),
    Less: compare("lt"),
    And: compare("logical_and"),
    Or: compare("logical_or"),
    Xor: compare("logical_xor"),
    Where: (op) => op.assign(`torch.where(${op.input(0)}, ${op.input(1)}, ${op.input(2)})`, { dtype: op.dtype(1), rank: "same" }),
  },
  7,
);

registerAll(
  {
    // ONNX divides integers truncating toward zero (C semantics); torch's `/` would give floats.
    Div: (op) =>
      op.assign(isInteger(op, 0) ? `torch.div(${op.input(0)}, ${op.scalarOr(1)}, rounding_mode="trunc")` : `${op.input(0)} / ${op.scalarOr(1)}`, {
        rank: "same",
      }),
    Pow: (op) => {
      const d = op.dtype(0);
      // The result has the base's type, whatever the exponent's (torch would promote int ** float to float).
      const cast = d && d !== op.dtype(1) ? `.to(${torchDtype(d)})` : "";
      op.assign(`torch.pow(${op.input(0)}, ${op.scalarOr(1)})${cast}`, { rank: "same" });
    },
  },
  7,
);

registerAll(
  {
    BitShift: (op) => {
      const direction = op.attrString("direction");
      if (direction !== "LEFT" && direction !== "RIGHT") op.refuse(`direction '${direction}' is not covered`);
      op.assign(`torch.bitwise_${direction === "LEFT" ? "left" : "right"}_shift(${op.input(0)}, ${op.input(1)})`, { rank: "same" });
    },
  },
  11,
);
registerAll({ GreaterOrEqual: compare("ge"), LessOrEqual: compare("le") }, 12);
registerAll(
  {
    Mod: (op) => op.assign(`torch.${op.attrInt("fmod", 0) ? "fmod" : "remainder"}(${op.input(0)}, ${op.input(1)})`),
  },
  10,
);

const variadic =
  (fn: string): TorchHandler =>
  (op) => {
    const inputs = op.node.inputs.map((_, i) => op.input(i));
    op.assign(
      inputs.slice(1).reduce((acc, x) => `torch.${fn}(${acc}, ${x})`, inputs[0]!),
      { rank: "same" },
    );
  };
registerAll(
  {
    Max: variadic("maximum"),
    Min: variadic("minimum"),
    Sum: (op) => op.assign(op.node.inputs.map((_, i) => op.input(i)).join(" + ")),
    Mean: (op) => {
      const inputs = op.node.inputs.map((_, i) => op.input(i));
      op.assign(inputs.length === 1 ? inputs[0]! : `(${inputs.join(" + ")}) / ${inputs.length}`);
    },
  },
  8,
);

registerAll(
  {
    Abs: unary("abs"),
    Neg: unary("neg"),
    Sqrt: unary("sqrt"),
    Exp: unary("exp"),
    Log: unary("log"),
    Reciprocal: unary("reciprocal"),
    Floor: unary("floor"),
    Ceil: unary("ceil"),
    Sin: unary("sin"),
    Cos: unary("cos"),
    Tan: unary("tan"),
    Asin: unary("asin"),
    Acos: unary("acos"),
    Atan: unary("atan"),
    Not: unary("logical_not"),
    // An exporter that merged equal weights reads them through Identity: each reader gets a weight of its own.
    Identity: (op) => {
      const weight = op.initializer(0);
      if (weight) op.bindConstant(0, { ...weight, name: op.node.outputs[0]! });
      else op.assign(op.input(0), { rank: "same" });
    },
  },
  1,
);
registerAll(
  { Sign: unary("sign"), Sinh: unary("sinh"), Cosh: unary("cosh"), Asinh: unary("asinh"), Acosh: unary("acosh"), Atanh: unary("atanh"), Erf: unary("erf") },
  9,
);
registerAll({ Round: unary("round") }, 11);
registerAll({ IsNaN: (op) => op.assign(`torch.isnan(${op.input(0)})`, { dtype: "bool" }) }, 9);
registerAll(
  {
    IsInf: (op) => {
      const [negative, positive] = [op.attrInt("detect_negative", 1), op.attrInt("detect_positive", 1)];
      const x = op.input(0);
      const test =
        negative && positive
          ? `torch.isinf(${x})`
          : negative
            ? `torch.isneginf(${x})`
            : positive
              ? `torch.isposinf(${x})`
              : `torch.zeros_like(${x}, dtype=torch.bool)`;
      op.assign(test, { dtype: "bool" });
    },
  },
  10,
);

torchOps.register({
  domain: "",
  op: "Clip",
  since: 6,
  until: 10,
  handler: (op) => {
    op.useMath();
    op.assign(`torch.clamp(${op.input(0)}, ${pyFloat(op.attrFloat("min", -Infinity))}, ${pyFloat(op.attrFloat("max", Infinity))})`);
  },
});
torchOps.register({
  domain: "",
  op: "Clip",
  since: 11,
  handler: (op) => {
    const bound = (i: number) => (op.has(i) ? op.scalarOr(i) : "None");
    const [low, high] = [bound(1), bound(2)];
    op.assign(low === "None" && high === "None" ? op.input(0) : `torch.clamp(${op.input(0)}, ${low}, ${high})`, { rank: op.rank(0) });
  },
});
