// The IR's one vocabulary of layer kinds and of frameworks. Readers put these words on a tensor's
// LayerHint (their class/op tables are typed against LayerKind); mapping rules, `--layer`
// overrides, the report and verify speak the same words. Other spellings a user may write
// (`Dense`, `multihead_attention`, `BatchNorm2d`) are aliases mapping/kinds.ts resolves.

/** The frameworks whose conventions (names, layouts) a tensor can follow. */
export const FRAMEWORKS = ["pytorch", "keras", "paddle", "onnx", "tflite"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const LAYER_KINDS = [
  "linear",
  "bilinear",
  "einsum_dense",
  /** A convolution whose rank the hint did not give (the weight's rank decides 1d/2d/3d). */
  "conv",
  "conv1d",
  "conv2d",
  "conv3d",
  "conv_transpose",
  "conv_transpose1d",
  "conv_transpose2d",
  "conv_transpose3d",
  "depthwise_conv1d",
  "depthwise_conv2d",
  "depthwise_conv3d",
  "separable_conv1d",
  "separable_conv2d",
  "batchnorm",
  "layernorm",
  "groupnorm",
  "instancenorm",
  "rmsnorm",
  "lrn",
  "embedding",
  "embedding_bag",
  /** Recurrent layers and their single-step cells alike (the className on the hint tells them apart). */
  "lstm",
  "gru",
  "rnn",
  "prelu",
  /** Multi-head attention (torch MultiheadAttention, Keras MultiHeadAttention). */
  "mha",
] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

export function isLayerKind(value: string): value is LayerKind {
  return (LAYER_KINDS as readonly string[]).includes(value);
}
