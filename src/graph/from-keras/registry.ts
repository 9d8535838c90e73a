import { OpRegistry } from "../registry.js";
import type { KerasCall } from "../../keras/config-graph.js";
import type { KValue, Lowering } from "./context.js";

// Keras layer classes → their lowering to ONNX ops, one registry filled by one file per layer
// family (core, convolution, pooling ...). Keyed by (domain "keras", class name, version 1): the
// config dialect (Keras 2 or 3) is read before lowering, so one version covers both.

export type KerasHandler = (lower: Lowering, xs: KValue[], call: KerasCall) => KValue | KValue[];

export const KERAS_DOMAIN = "keras";

export const kerasLayers = new OpRegistry<KerasHandler>();

export function registerLayers(classNames: string[], handler: KerasHandler): void {
  for (const op of classNames) kerasLayers.register({ domain: KERAS_DOMAIN, op, since: 1, handler });
}

export function handlerFor(className: string): KerasHandler | undefined {
  return kerasLayers.lookup(KERAS_DOMAIN, className, 1);
}
