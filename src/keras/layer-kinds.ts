import type { LayerKind } from "../tensor/layer-kinds.js";
import { QUANTIZED_FLOAT_CLASS } from "./quantized-layers.js";
import { classKinds } from "../vocabulary/layers.js";

/**
 * Keras layer class → kind, for every reader of Keras layer configs (HDF5 and .keras model
 * configs, SavedModel object metadata); the classes are the layer vocabulary's (vocabulary/layers.ts).
 * Wrappers (Bidirectional, TimeDistributed) are resolved to their inner layer by the reader.
 */
const FLOAT_LAYER_KINDS = classKinds("keras");

/** Every class above, and the quantized classes (QKeras, HGQ) of the same layers. */
export const KERAS_LAYER_KINDS: Readonly<Record<string, LayerKind>> = {
  ...FLOAT_LAYER_KINDS,
  ...Object.fromEntries(
    Object.entries(QUANTIZED_FLOAT_CLASS).flatMap(([quantized, float]) => (FLOAT_LAYER_KINDS[float] ? [[quantized, FLOAT_LAYER_KINDS[float]]] : [])),
  ),
};
