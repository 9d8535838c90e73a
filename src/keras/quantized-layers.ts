// Quantization-aware Keras layers (QKeras, HGQ/HGQ2) are float layers with quantizers on their
// inputs, weights or outputs: for conversion to a float framework each is its float class, and
// its quantizer state (bit widths, integer bits, signs) is not a weight a float layer can hold.

/** Quantized class → the float Keras class it computes (weights in the same names and layouts). */
export const QUANTIZED_FLOAT_CLASS: Readonly<Record<string, string>> = {
  // QKeras
  QDense: "Dense",
  QConv1D: "Conv1D",
  QConv2D: "Conv2D",
  QConv2DTranspose: "Conv2DTranspose",
  QDepthwiseConv2D: "DepthwiseConv2D",
  QSeparableConv1D: "SeparableConv1D",
  QSeparableConv2D: "SeparableConv2D",
  QBatchNormalization: "BatchNormalization",
  QSimpleRNN: "SimpleRNN",
  QLSTM: "LSTM",
  QGRU: "GRU",
  QBidirectional: "Bidirectional",
  QAveragePooling2D: "AveragePooling2D",
  QGlobalAveragePooling2D: "GlobalAveragePooling2D",
  // HGQ (Keras 2) and its proxy models; HGQ2 (Keras 3) reuses the QKeras-style names above
  HDense: "Dense",
  HDenseBatchNorm: "Dense",
  HConv1D: "Conv1D",
  HConv2D: "Conv2D",
  HConv2DBatchNorm: "Conv2D",
  HAdd: "Add",
  HActivation: "Activation",
  PAveragePooling1D: "AveragePooling1D",
  PAveragePooling2D: "AveragePooling2D",
  PMaxPooling1D: "MaxPooling1D",
  PMaxPooling2D: "MaxPooling2D",
  PFlatten: "Flatten",
  PReshape: "Reshape",
  PConcatenate: "Concatenate",
  QEinsumDense: "EinsumDense",
  QAdd: "Add",
  QMultiply: "Multiply",
};

/** Layers that only quantize their input elementwise: shape and channels pass through unchanged. */
export const ELEMENTWISE_QUANTIZERS: ReadonlySet<string> = new Set([
  "QActivation",
  "QAdaptiveActivation",
  "FixedPointQuantizer",
  "HQuantize",
  "Signature",
  "Quantizer",
  "QUnaryFunctionLUT",
]);

/** The float class a (possibly quantized) Keras class computes; quantizers compute the identity. */
export function floatKerasClass(className: string): string {
  if (ELEMENTWISE_QUANTIZERS.has(className)) return "Activation";
  return QUANTIZED_FLOAT_CLASS[className] ?? className;
}
