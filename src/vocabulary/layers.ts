import type { LayerKind } from "../tensor/layer-kinds.js";

// THE layer vocabulary: for each layer kind of the IR (tensor/layer-kinds.ts), how each framework
// spells it. Readers' class tables are made from it (formats/pytorch/layers.ts, keras/layer-kinds.ts),
// so a framework class that is one of these kinds is written down once, here. Kinds a framework
// has no class for are left out of its list. Quantized variants (QKeras, HGQ) are aliases of their
// float class, added where they are recognised (keras/quantized-layers.ts).
//
// Still to move here (they keep their own tables for now): ONNX op hints (formats/onnx/layers.ts),
// Paddle op hints (formats/paddle/op-hints.ts), mapping/kinds.ts ALIASES, mapping/keras3-names.ts
// WEIGHTS, weight roles per framework (verify/layers/*) and what a layer does to a feature map.

export interface LayerSpelling {
  /** torch.nn module classes. */
  pytorch?: readonly string[];
  /** Keras layer classes (tf.keras, Keras 2 and 3, their legacy spellings). */
  keras?: readonly string[];
}

export const LAYER_VOCABULARY: Readonly<Partial<Record<LayerKind, LayerSpelling>>> = {
  linear: { pytorch: ["Linear", "LazyLinear", "NonDynamicallyQuantizableLinear"], keras: ["Dense"] },
  bilinear: { pytorch: ["Bilinear"] },
  einsum_dense: { keras: ["EinsumDense"] },
  conv1d: { pytorch: ["Conv1d", "LazyConv1d"], keras: ["Conv1D", "Convolution1D"] },
  conv2d: { pytorch: ["Conv2d", "LazyConv2d"], keras: ["Conv2D", "Convolution2D"] },
  conv3d: { pytorch: ["Conv3d", "LazyConv3d"], keras: ["Conv3D", "Convolution3D"] },
  conv_transpose1d: { pytorch: ["ConvTranspose1d"], keras: ["Conv1DTranspose"] },
  conv_transpose2d: { pytorch: ["ConvTranspose2d"], keras: ["Conv2DTranspose", "Deconvolution2D"] },
  conv_transpose3d: { pytorch: ["ConvTranspose3d"], keras: ["Conv3DTranspose"] },
  depthwise_conv1d: { keras: ["DepthwiseConv1D"] },
  depthwise_conv2d: { keras: ["DepthwiseConv2D"] },
  separable_conv1d: { keras: ["SeparableConv1D"] },
  separable_conv2d: { keras: ["SeparableConv2D"] },
  batchnorm: { pytorch: ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"], keras: ["BatchNormalization"] },
  layernorm: { pytorch: ["LayerNorm"], keras: ["LayerNormalization"] },
  groupnorm: { pytorch: ["GroupNorm"], keras: ["GroupNormalization"] },
  instancenorm: { pytorch: ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"] },
  rmsnorm: { pytorch: ["RMSNorm"] },
  lrn: { pytorch: ["LocalResponseNorm"] },
  embedding: { pytorch: ["Embedding"], keras: ["Embedding"] },
  embedding_bag: { pytorch: ["EmbeddingBag"] },
  lstm: { pytorch: ["LSTM", "LSTMCell"], keras: ["LSTM", "CuDNNLSTM"] },
  gru: { pytorch: ["GRU", "GRUCell"], keras: ["GRU", "CuDNNGRU"] },
  rnn: { pytorch: ["RNN", "RNNCell"], keras: ["SimpleRNN"] },
  prelu: { pytorch: ["PReLU"], keras: ["PReLU"] },
  mha: { pytorch: ["MultiheadAttention"], keras: ["MultiHeadAttention"] },
};

/** A framework's class → kind table, made from the vocabulary. */
export function classKinds(framework: keyof LayerSpelling): Readonly<Record<string, LayerKind>> {
  const table: Record<string, LayerKind> = {};
  for (const [kind, spelling] of Object.entries(LAYER_VOCABULARY) as Array<[LayerKind, LayerSpelling]>) {
    for (const cls of spelling[framework] ?? []) table[cls] = kind;
  }
  return table;
}
