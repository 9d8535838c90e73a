import { known, type KValue } from "./context.js";
import { handlerFor, registerLayers } from "./registry.js";

// TimeDistributed: the wrapped layer applied to every step, as the wrapped layer's own lowering
// on [batch * steps, ...] (the steps folded into the batch) and the result unfolded again. The
// weights stay the wrapper's (Keras stores them under its name).

registerLayers(["TimeDistributed"], (lower, xs) => {
  const x = lower.toLast(xs[0]!);
  const inner = lower.config.layer as { class_name?: string; config?: Record<string, unknown> } | undefined;
  const handler = inner?.class_name ? handlerFor(inner.class_name) : undefined;
  if (!inner?.class_name || !inner.config || !handler || inner.class_name === "TimeDistributed")
    return lower.refuse(`layer=${inner?.class_name ?? "?"}`, "is not a layer the conversion implements");
  const steps = x.shape[1];
  const rest = x.shape.slice(2);
  if (!known(steps) || !rest.every(known)) return lower.refuse("an input with unknown steps or features", "(TimeDistributed folds them into the batch)");
  const folded: KValue = {
    name: lower.op("Reshape", [x.name, lower.constant("int64", [-1, ...(rest as number[])])]),
    shape: ["batch_steps", ...rest],
    dtype: x.dtype,
  };
  const outer = lower.call;
  lower.call = { ...outer, layer: { name: outer.layer.name, className: inner.class_name, config: inner.config as never } };
  try {
    const result = handler(lower, [folded], lower.call);
    if (Array.isArray(result)) return lower.refuse(`layer=${inner.class_name}`, "gives several outputs");
    const y = lower.toLast(result);
    const out = y.shape.slice(1);
    if (!out.every(known)) return lower.refuse(`layer=${inner.class_name}`, "gives a shape of unknown size");
    return { ...y, name: lower.op("Reshape", [y.name, lower.constant("int64", [-1, steps, ...(out as number[])])]), shape: [x.shape[0]!, steps, ...out] };
  } finally {
    lower.call = outer;
  }
});
