import { int, ints, type Dim } from "../ir.js";
import { known, type KValue, type Lowering } from "./context.js";
import { registerLayers } from "./registry.js";

// Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (ONNX broadcasting is Keras'),
// Concatenate on any axis, and Dot (batch dot product over one axis of each input, optionally
// L2-normalized first).

/** The inputs held alike: channels-first when any feature map already is, else as Keras holds them. */
function alike(lower: Lowering, xs: KValue[]): KValue[] {
  if (xs.length < 2) lower.refuse(`${xs.length} input`, "where a merge layer takes two or more");
  const rank = xs[0]!.shape.length;
  const first = rank >= 3 && xs.every((x) => x.shape.length === rank) && xs.some((x) => x.channelsFirst);
  return xs.map((x) => (first ? lower.toFirst(x) : lower.toLast(x)));
}

function broadcastShape(xs: KValue[]): Dim[] {
  const rank = Math.max(...xs.map((x) => x.shape.length));
  return Array.from({ length: rank }, (_, i) => {
    const dims = xs.map((x) => x.shape[i - (rank - x.shape.length)]).filter((d): d is Dim => d !== undefined);
    return dims.find((d) => d !== 1) ?? 1;
  });
}

const VARIADIC: Record<string, string> = { Add: "Sum", Maximum: "Max", Minimum: "Min" };

for (const [cls, op] of Object.entries(VARIADIC)) {
  registerLayers([cls], (lower, xs) => {
    const held = alike(lower, xs);
    return {
      ...held[0]!,
      shape: broadcastShape(xs),
      name: lower.op(
        op,
        held.map((x) => x.name),
      ),
    };
  });
}

registerLayers(["Multiply"], (lower, xs) => {
  const held = alike(lower, xs);
  const y = held.slice(1).reduce((acc, x) => lower.op("Mul", [acc, x.name]), held[0]!.name);
  return { ...held[0]!, shape: broadcastShape(xs), name: y };
});

registerLayers(["Subtract"], (lower, xs) => {
  if (xs.length !== 2) lower.refuse(`${xs.length} inputs`, "where Subtract takes two");
  const held = alike(lower, xs);
  return { ...held[0]!, shape: broadcastShape(xs), name: lower.op("Sub", [held[0]!.name, held[1]!.name]) };
});

registerLayers(["Average"], (lower, xs) => {
  const held = alike(lower, xs);
  const sum = lower.op(
    "Sum",
    held.map((x) => x.name),
  );
  return { ...held[0]!, shape: broadcastShape(xs), name: lower.op("Mul", [sum, lower.scalar(1 / xs.length)]) };
});

registerLayers(["Concatenate"], (lower, xs) => {
  const held = alike(lower, xs);
  const axis = typeof lower.config.axis === "number" ? lower.config.axis : -1;
  const r = xs[0]!.shape.length;
  const a = axis < 0 ? axis + r : axis;
  if (a === 0) lower.refuse("axis=0", "(the batch axis)");
  const size = xs.reduce<Dim>((n, x) => (known(n) && known(x.shape[a]) ? n + (x.shape[a] as number) : `${lower.call.id}_axis`), 0);
  const shape = xs[0]!.shape.map((d, i) => (i === a ? size : d));
  return {
    ...held[0]!,
    shape,
    name: lower.op(
      "Concat",
      held.map((x) => x.name),
      { axis: int(lower.physicalAxis(held[0]!, axis)) },
    ),
  };
});

function l2Normalized(lower: Lowering, x: string, axis: number): string {
  const sum = lower.op("ReduceSum", [lower.op("Mul", [x, x]), lower.constant("int64", [axis])], { keepdims: int(1) });
  return lower.op("Div", [x, lower.op("Sqrt", [lower.op("Max", [sum, lower.scalar(1e-12)])])]);
}

registerLayers(["Dot"], (lower, xs) => {
  if (xs.length !== 2) lower.refuse(`${xs.length} inputs`, "where Dot takes two");
  const [a, b] = xs.map((x) => lower.toLast(x)) as [KValue, KValue];
  const r = a.shape.length;
  if (b.shape.length !== r || (r !== 2 && r !== 3)) lower.refuse(`inputs of rank ${r} and ${b.shape.length}`, "(ranks 2 and 3 are implemented)");
  const axesOption = lower.config.axes;
  const pair = (typeof axesOption === "number" ? [axesOption, axesOption] : (axesOption as number[])).map((x) => (x < 0 ? x + r : x));
  if (pair.some((x) => x < 1 || x >= r)) lower.refuse(`axes=${JSON.stringify(axesOption)}`);
  let [an, bn] = [a.name, b.name];
  if (lower.config.normalize === true) [an, bn] = [l2Normalized(lower, an, pair[0]!), l2Normalized(lower, bn, pair[1]!)];
  if (r === 2) {
    const y = lower.op("ReduceSum", [lower.op("Mul", [an, bn]), lower.constant("int64", [1])], { keepdims: int(1) });
    return { name: y, shape: [a.shape[0]!, 1], dtype: "float32" };
  }
  // Rank 3: contract a's axis pair[0] with b's pair[1] (a: [N, other, axis], b: [N, axis, other]).
  const left = pair[0] === 2 ? an : lower.op("Transpose", [an], { perm: ints([0, 2, 1]) });
  const right = pair[1] === 1 ? bn : lower.op("Transpose", [bn], { perm: ints([0, 2, 1]) });
  const y = lower.op("MatMul", [left, right]);
  return { name: y, shape: [a.shape[0]!, a.shape[3 - pair[0]!]!, b.shape[3 - pair[1]!]!], dtype: "float32" };
});
