import type { LayerKind } from "../tensor/layer-kinds.js";
import { QUANTIZED_FLOAT_CLASS } from "./quantized-layers.js";

/**
 * Keras layer class → kind, for every reader of Keras layer configs (HDF5 and .keras model
 * configs, SavedModel object metadata). Wrappers (Bidirectional, TimeDistributed) are resolved
 * to their inner layer by the reader.
 */
const FLOAT_LAYER_KINDS: Readonly<Record<string, LayerKind>> = {
  Dense: "linear",
  EinsumDense: "einsum_dense",
  Conv1D: "conv1d",
  Convolution1D: "conv1d",
  Conv2D: "conv2d",
  Convolution2D: "conv2d",
  Conv3D: "conv3d",
  Convolution3D: "conv3d",
  Conv1DTranspose: "conv_transpose1d",
  Conv2DTranspose: "conv_transpose2d",
  Deconvolution2D: "conv_transpose2d",
  Conv3DTranspose: "conv_transpose3d",
  DepthwiseConv1D: "depthwise_conv1d",
  DepthwiseConv2D: "depthwise_conv2d",
  SeparableConv1D: "separable_conv1d",
  SeparableConv2D: "separable_conv2d",
  BatchNormalization: "batchnorm",
  LayerNormalization: "layernorm",
  GroupNormalization: "groupnorm",
  Embedding: "embedding",
  LSTM: "lstm",
  CuDNNLSTM: "lstm",
  GRU: "gru",
  CuDNNGRU: "gru",
  SimpleRNN: "rnn",
  PReLU: "prelu",
  MultiHeadAttention: "mha",
};

/** Every class above, and the quantized classes (QKeras, HGQ) of the same layers. */
export const KERAS_LAYER_KINDS: Readonly<Record<string, LayerKind>> = {
  ...FLOAT_LAYER_KINDS,
  ...Object.fromEntries(
    Object.entries(QUANTIZED_FLOAT_CLASS).flatMap(([quantized, float]) => (FLOAT_LAYER_KINDS[float] ? [[quantized, FLOAT_LAYER_KINDS[float]]] : [])),
  ),
};
