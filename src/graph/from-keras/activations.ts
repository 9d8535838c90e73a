import type { JsonValue } from "../../tensor/checkpoint.js";
import { float, type Attribute } from "../ir.js";
import type { KValue, Lowering } from "./context.js";

// Keras' built-in activations with Keras' own definitions (selu's constants, gelu's exact erf
// form, hard_sigmoid's slope: 0.2 in Keras 2, 1/6 in Keras 3), as ONNX ops on a value held in
// either layout (softmax takes the channel axis where it is held).

type Activation = (lower: Lowering, x: string, v: KValue) => string;

const unary =
  (op: string, attributes: Record<string, Attribute> = {}): Activation =>
  (lower, x) =>
    lower.op(op, [x], attributes);

const hardSigmoid = (lower: Lowering, x: string): string =>
  lower.op("HardSigmoid", [x], lower.options.kerasMajor >= 3 ? { alpha: float(1 / 6), beta: float(0.5) } : { alpha: float(0.2), beta: float(0.5) });

const gateBy =
  (gate: (lower: Lowering, x: string) => string): Activation =>
  (lower, x) =>
    lower.op("Mul", [x, gate(lower, x)]);

const lastAxis = (lower: Lowering, v: KValue): Attribute => ({ type: "int", value: lower.physicalAxis(v, -1) });

const ACTIVATIONS: Record<string, Activation> = {
  linear: (_lower, x) => x,
  relu: unary("Relu"),
  sigmoid: unary("Sigmoid"),
  tanh: unary("Tanh"),
  softmax: (lower, x, v) => lower.op("Softmax", [x], { axis: lastAxis(lower, v) }),
  log_softmax: (lower, x, v) => lower.op("LogSoftmax", [x], { axis: lastAxis(lower, v) }),
  elu: unary("Elu", { alpha: float(1) }),
  selu: unary("Selu", { alpha: float(1.6732632423543772), gamma: float(1.0507009873554805) }),
  softplus: unary("Softplus"),
  softsign: unary("Softsign"),
  exponential: unary("Exp"),
  swish: gateBy((lower, x) => lower.op("Sigmoid", [x])),
  silu: gateBy((lower, x) => lower.op("Sigmoid", [x])),
  hard_sigmoid: hardSigmoid,
  hard_silu: gateBy((lower, x) => lower.op("HardSigmoid", [x], { alpha: float(1 / 6), beta: float(0.5) })),
  hard_swish: gateBy((lower, x) => lower.op("HardSigmoid", [x], { alpha: float(1 / 6), beta: float(0.5) })),
  relu6: (lower, x) => lower.op("Clip", [x, lower.scalar(0), lower.scalar(6)]),
  leaky_relu: unary("LeakyRelu", { alpha: float(0.2) }),
  mish: gateBy((lower, x) => lower.op("Tanh", [lower.op("Softplus", [x])])),
  gelu: (lower, x) => {
    // 0.5 x (1 + erf(x / sqrt 2)): Keras' default (approximate=False).
    const erf = lower.op("Erf", [lower.op("Mul", [x, lower.scalar(Math.SQRT1_2)])]);
    return lower.op("Mul", [lower.op("Mul", [x, lower.scalar(0.5)]), lower.op("Add", [erf, lower.scalar(1)])]);
  },
};

/** The activation's name in a layer config (`"relu"`, or Keras 3's serialized function). */
export function activationName(value: JsonValue | unknown): string | undefined {
  if (value === null || value === undefined) return "linear";
  if (typeof value === "string") return value;
  const o = value as Record<string, unknown>;
  if (typeof o === "object" && typeof o.config === "string") return o.config;
  if (typeof o === "object" && typeof o.class_name === "string" && o.class_name !== "function") return undefined;
  return undefined;
}

export function hasActivation(name: string): boolean {
  return name in ACTIVATIONS;
}

/** Applies the named activation; refuses unknown ones (a custom Python function). */
export function activate(lower: Lowering, v: KValue, value: unknown, option = "activation"): KValue {
  const name = activationName(value);
  const f = name === undefined ? undefined : ACTIVATIONS[name];
  if (!f) lower.refuse(`${option}=${JSON.stringify(value)}`, "is not a built-in Keras activation");
  const out = f(lower, v.name, v);
  return out === v.name ? v : { ...v, name: out };
}
