import type { Finding, Format } from "../types.js";
import { hasTfliteIdentifier } from "./flatbuffer.js";
import { readTflite } from "./read.js";
import { reweightTflite } from "./reweight.js";

export const tfliteFormat: Format<Finding, "tflite"> = {
  id: "tflite",
  framework: "tflite",
  batchNormsFoldedBy: "the TFLite converter",
  floatPresetPrefix: "tflite2",
  name: "TensorFlow Lite model (FlatBuffer; writes by re-weighting a --template .tflite)",
  extensions: [".tflite"],
  sniff: ({ head }) => (hasTfliteIdentifier(head) ? {} : false),
  read: (source, options) => readTflite(source, { dequantize: options.dequantize === true }),
  write: (checkpoint, sink, options) => reweightTflite(checkpoint, sink, options),
};
