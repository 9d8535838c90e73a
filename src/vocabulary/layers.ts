import type { LayerKind } from "../tensor/layer-kinds.js";

// THE layer vocabulary: for each layer kind of the IR (tensor/layer-kinds.ts), how each framework
// spells it and what it stores. Every table that recognises a layer is made from it: the readers'
// class and op tables (formats/pytorch/layers.ts, keras/layer-kinds.ts, formats/onnx/layers.ts,
// formats/paddle/op-hints.ts and framework-names.ts), the names users may write (mapping/kinds.ts)
// and Keras 3's variable order (mapping/keras3-names.ts). Kinds a framework has no spelling for are
// left out of its list. Quantized variants (QKeras, HGQ) are aliases of their float class, added
// where they are recognised (keras/quantized-layers.ts). Adding a kind: docs/adding-a-layer-kind.md.

export interface LayerSpelling {
  /** torch.nn module classes. */
  pytorch?: readonly string[];
  /** Keras layer classes (tf.keras, Keras 2 and 3, their legacy spellings). */
  keras?: readonly string[];
  /** ONNX ops whose weight inputs are this kind's (which inputs are weights is the op's schema: formats/onnx/layers.ts). */
  onnx?: readonly string[];
  /** Paddle program op types whose weight inputs are this kind's (a `rnn` op says its cell in `mode`). */
  paddle?: readonly string[];
  /** Paddle's generated parameter-name prefixes (`conv2d_transpose` of `conv2d_transpose_0.w_0`): the snake-cased layer class. */
  paddleNames?: readonly string[];
  /** Other names users write for it (`--layer`, a rule's `kind`), beside the kind and the spellings above. */
  aliases?: readonly string[];
  /** Keras' variables of the layer, in the order Keras 3 creates them (`vars/0`, `vars/1` ...). */
  kerasWeights?: readonly string[];
  /**
   * What it does to a feature map's channel count, where flatten evidence may rely on it: `sets` it
   * (a convolution), `keeps` it (a per-channel layer). Left out: the layer ends a conv's evidence.
   */
  channels?: "sets" | "keeps";
}

export type Spelling = Exclude<keyof LayerSpelling, "kerasWeights" | "channels">;

const KERNEL_BIAS = ["kernel", "bias"];
const RECURRENT_WEIGHTS = ["kernel", "recurrent_kernel", "bias"];

export const LAYER_VOCABULARY: Readonly<Partial<Record<LayerKind, LayerSpelling>>> = {
  linear: {
    pytorch: ["Linear", "LazyLinear", "NonDynamicallyQuantizableLinear"],
    keras: ["Dense"],
    onnx: ["Gemm", "MatMul"],
    paddle: ["matmul_v2", "matmul", "mul", "fc"],
    paddleNames: ["linear", "fc"],
    aliases: ["innerproduct"],
    kerasWeights: KERNEL_BIAS,
  },
  bilinear: { pytorch: ["Bilinear"] },
  einsum_dense: { keras: ["EinsumDense"] },
  conv: { channels: "sets", onnx: ["Conv"] },
  conv1d: { channels: "sets", pytorch: ["Conv1d", "LazyConv1d"], keras: ["Conv1D", "Convolution1D"], paddleNames: ["conv1d"], kerasWeights: KERNEL_BIAS },
  conv2d: {
    channels: "sets",
    pytorch: ["Conv2d", "LazyConv2d"],
    keras: ["Conv2D", "Convolution2D"],
    paddle: ["conv2d"],
    paddleNames: ["conv2d"],
    kerasWeights: KERNEL_BIAS,
  },
  conv3d: {
    channels: "sets",
    pytorch: ["Conv3d", "LazyConv3d"],
    keras: ["Conv3D", "Convolution3D"],
    paddle: ["conv3d"],
    paddleNames: ["conv3d"],
    kerasWeights: KERNEL_BIAS,
  },
  conv_transpose: { channels: "sets", onnx: ["ConvTranspose"] },
  conv_transpose1d: {
    channels: "sets",
    pytorch: ["ConvTranspose1d"],
    keras: ["Conv1DTranspose"],
    paddleNames: ["conv1d_transpose"],
    kerasWeights: KERNEL_BIAS,
  },
  conv_transpose2d: {
    channels: "sets",
    pytorch: ["ConvTranspose2d"],
    keras: ["Conv2DTranspose", "Deconvolution2D"],
    paddle: ["conv2d_transpose", "depthwise_conv2d_transpose"],
    paddleNames: ["conv2d_transpose"],
    kerasWeights: KERNEL_BIAS,
  },
  conv_transpose3d: {
    channels: "sets",
    pytorch: ["ConvTranspose3d"],
    keras: ["Conv3DTranspose"],
    paddle: ["conv3d_transpose"],
    paddleNames: ["conv3d_transpose"],
    kerasWeights: KERNEL_BIAS,
  },
  depthwise_conv1d: { channels: "sets", keras: ["DepthwiseConv1D"] },
  depthwise_conv2d: {
    channels: "sets",
    keras: ["DepthwiseConv2D"],
    paddle: ["depthwise_conv2d"],
    paddleNames: ["depthwise_conv2d"],
    kerasWeights: ["depthwise_kernel", "bias"],
  },
  depthwise_conv3d: { channels: "sets" },
  separable_conv1d: { channels: "sets", keras: ["SeparableConv1D"] },
  separable_conv2d: { channels: "sets", keras: ["SeparableConv2D"], kerasWeights: ["depthwise_kernel", "pointwise_kernel", "bias"] },
  batchnorm: {
    channels: "keeps",
    pytorch: ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"],
    keras: ["BatchNormalization"],
    onnx: ["BatchNormalization"],
    paddle: ["batch_norm", "sync_batch_norm"],
    paddleNames: ["batch_norm", "batch_norm1d", "batch_norm2d", "batch_norm3d"].flatMap((n) => [n, `sync_${n}`]),
    kerasWeights: ["gamma", "beta", "moving_mean", "moving_variance"],
  },
  layernorm: {
    pytorch: ["LayerNorm"],
    keras: ["LayerNormalization"],
    onnx: ["LayerNormalization"],
    paddle: ["layer_norm"],
    paddleNames: ["layer_norm"],
    kerasWeights: ["gamma", "beta"],
  },
  groupnorm: { pytorch: ["GroupNorm"], keras: ["GroupNormalization"], paddle: ["group_norm"], paddleNames: ["group_norm"] },
  instancenorm: {
    pytorch: ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"],
    onnx: ["InstanceNormalization"],
    paddle: ["instance_norm"],
    paddleNames: ["instance_norm", "instance_norm1d", "instance_norm2d", "instance_norm3d"],
  },
  rmsnorm: { pytorch: ["RMSNorm"] },
  lrn: { pytorch: ["LocalResponseNorm"] },
  embedding: {
    pytorch: ["Embedding"],
    keras: ["Embedding"],
    onnx: ["Gather"],
    paddle: ["lookup_table_v2", "lookup_table"],
    paddleNames: ["embedding"],
    kerasWeights: ["embeddings"],
  },
  embedding_bag: { pytorch: ["EmbeddingBag"] },
  lstm: {
    pytorch: ["LSTM", "LSTMCell"],
    keras: ["LSTM", "CuDNNLSTM"],
    onnx: ["LSTM"],
    paddle: ["lstm", "rnn"],
    paddleNames: ["lstm", "lstm_cell"],
    kerasWeights: RECURRENT_WEIGHTS,
  },
  gru: {
    pytorch: ["GRU", "GRUCell"],
    keras: ["GRU", "CuDNNGRU"],
    onnx: ["GRU"],
    paddle: ["gru"],
    paddleNames: ["gru", "gru_cell"],
    kerasWeights: RECURRENT_WEIGHTS,
  },
  rnn: {
    pytorch: ["RNN", "RNNCell"],
    keras: ["SimpleRNN"],
    onnx: ["RNN"],
    paddleNames: ["simple_rnn", "simple_rnn_cell"],
    aliases: ["simplernncell"],
    kerasWeights: RECURRENT_WEIGHTS,
  },
  prelu: {
    channels: "keeps",
    pytorch: ["PReLU"],
    keras: ["PReLU"],
    paddle: ["prelu"],
    paddleNames: ["p_re_lu"],
    aliases: ["preluactivation"],
    kerasWeights: ["alpha"],
  },
  mha: { pytorch: ["MultiheadAttention"], keras: ["MultiHeadAttention"], kerasWeights: KERNEL_BIAS },
};

function entries(): Array<[LayerKind, LayerSpelling]> {
  return Object.entries(LAYER_VOCABULARY) as Array<[LayerKind, LayerSpelling]>;
}

/** A framework's class (or op, or name prefix) → kind table, made from the vocabulary. */
export function classKinds(spelling: Spelling): Readonly<Record<string, LayerKind>> {
  const table: Record<string, LayerKind> = Object.create(null);
  for (const [kind, spelled] of entries()) for (const name of spelled[spelling] ?? []) table[name] = kind;
  return table;
}

/** Keras' variables of a kind in Keras 3's order, or undefined when the vocabulary does not list them. */
export function kerasWeightsOf(kind: string): readonly string[] | undefined {
  return LAYER_VOCABULARY[kind as LayerKind]?.kerasWeights;
}

/** What a kind does to a feature map's channel count (see LayerSpelling.channels). */
export function channelEffect(kind: string): "sets" | "keeps" | undefined {
  return LAYER_VOCABULARY[kind as LayerKind]?.channels;
}

/** A convolution kind whose rank was not given (`conv`, `conv_transpose`) made definite by its weight's rank (3–5). */
export function rankedKind(kind: LayerKind, weightRank: number | undefined): LayerKind {
  if ((kind !== "conv" && kind !== "conv_transpose") || weightRank === undefined || weightRank < 3 || weightRank > 5) return kind;
  return `${kind}${weightRank - 2}d` as LayerKind;
}
