import { int, ints } from "../ir.js";
import { INFERENCE_IDENTITY } from "../../keras/model-config.js";
import type { KValue, Lowering } from "./context.js";
import { KerasLoweringError } from "./errors.js";
import { registerLayers } from "./registry.js";

// Keras masks: Embedding(mask_zero) and Masking make a [batch, steps] boolean mask that rides
// along with the value through the layers that keep the steps (Dropout, Dense, activations) to
// the recurrent layers that use it. A mask reaching any other layer is refused: Keras would use
// it there (a masked mean, a masked softmax) and ignoring it would be silently wrong.

/** Layers whose lowering reads the input mask and sets the output's mask itself. */
const MASK_HANDLERS = new Set(["Embedding", "Masking", "LSTM", "CuDNNLSTM", "GRU", "SimpleRNN", "Bidirectional"]);

/** Layers that pass their input's mask on unchanged (Keras' supports_masking with the default compute_mask). */
const MASK_PASSTHROUGH = new Set([...INFERENCE_IDENTITY, "Activation", "Dense", "ReLU", "LeakyReLU", "ELU", "ThresholdedReLU"]);

/** The outputs of a call with the masks Keras gives them; refuses a mask reaching a layer that would use it. */
export function withMasks(lower: Lowering, xs: KValue[], outs: KValue[]): KValue[] {
  const className = lower.call.layer.className;
  if (MASK_HANDLERS.has(className)) return outs;
  const masked = xs.find((x) => x.mask);
  if (!masked) return outs.map(({ mask: _, ...v }) => v);
  if (MASK_PASSTHROUGH.has(className) && xs.length === 1) return outs.map((v) => ({ ...v, mask: masked.mask }));
  throw new KerasLoweringError(
    lower.call.layer.name,
    className,
    "an input mask",
    "(from Embedding mask_zero=true or Masking) is not implemented for this layer: only recurrent layers, Dense, activations and dropouts take one",
  );
}

registerLayers(["Masking"], (lower, xs) => {
  const x = lower.toLast(xs[0]!);
  if (x.shape.length !== 3) lower.refuse(`an input of rank ${x.shape.length}`, "(Masking of [batch, steps, features] is implemented)");
  const value = typeof lower.config.mask_value === "number" ? lower.config.mask_value : 0;
  // A step is kept when any feature differs from mask_value; the masked steps' values become 0.
  const differs = lower.op("Cast", [lower.op("Not", [lower.op("Equal", [x.name, lower.scalar(value)])])], { to: int(1) });
  const keep = lower.op("ReduceMax", [differs], { axes: ints([-1]), keepdims: int(1) });
  const mask = lower.op("Cast", [lower.op("Squeeze", [keep, lower.constant("int64", [-1])])], { to: int(9) });
  return { ...x, name: lower.op("Mul", [x.name, keep]), mask };
});
