import type { KValue, Lowering } from "./context.js";
import { registerLayers } from "./registry.js";

// TFOpLambda: Keras 2 records a tf.* call on a Keras tensor as a layer naming the function
// (`math.add`, `nn.relu`, `__operators__.add`). Only functions in this table are lowered; any
// other is refused by name. The second operand is another tensor or a number in the call's
// keywords (`y`).

type TfOp = (lower: Lowering, x: KValue, y: () => string) => string;

const binary =
  (op: string): TfOp =>
  (lower, x, y) =>
    lower.op(op, [x.name, y()]);
const unary =
  (op: string): TfOp =>
  (lower, x) =>
    lower.op(op, [x.name]);

const TF_OPS: Record<string, TfOp> = {
  "math.add": binary("Add"),
  "__operators__.add": binary("Add"),
  "math.subtract": binary("Sub"),
  "math.multiply": binary("Mul"),
  "math.truediv": binary("Div"),
  "math.maximum": binary("Max"),
  "math.minimum": binary("Min"),
  "nn.relu": unary("Relu"),
  "math.sigmoid": unary("Sigmoid"),
  "math.tanh": unary("Tanh"),
  "math.exp": unary("Exp"),
  "math.abs": unary("Abs"),
  "math.negative": unary("Neg"),
  "math.sqrt": unary("Sqrt"),
};

registerLayers(["TFOpLambda"], (lower, xs) => {
  const fn = lower.config.function;
  const op = typeof fn === "string" ? TF_OPS[fn] : undefined;
  if (!op) return lower.refuse(`function=${JSON.stringify(fn)}`, "is not in the table of known tf.* functions");
  const held = xs.map((x) => lower.toLast(x));
  const x = held[0]!;
  const y = (): string => {
    if (held[1]) return held[1].name;
    const keyword = lower.call.keywordInputs.y;
    if (keyword) return lower.toLast(lower.values.get(keyword)!).name;
    const value = lower.call.keywords.y;
    if (typeof value === "number") return lower.scalar(value);
    return lower.refuse(`y=${JSON.stringify(value)}`, "is not a number or a tensor");
  };
  return { ...x, name: op(lower, x, y) };
});
