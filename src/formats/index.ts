import type { Format } from "./types.js";
import { onnxFormat } from "./onnx/format.js";
import { safetensorsFormat } from "./safetensors/format.js";
import { kerasFormat, kerasH5Format } from "./keras/format.js";
import { pytorchFormat, torchscriptFormat } from "./pytorch/format.js";
import { paddleFormat } from "./paddle/pdparams-format.js";
import { paddleInferenceFormat } from "./paddle/inference-format.js";
import { tfCheckpointFormat, tfSavedModelFormat } from "./tensorflow/format.js";

/**
 * THE list of formats, in sniffing order (more specific containers first).
 * Adding a format = writing its module and adding one line here.
 */
export const FORMATS: Format[] = [
  safetensorsFormat,
  kerasH5Format,
  kerasFormat,
  torchscriptFormat,
  pytorchFormat,
  paddleFormat,
  paddleInferenceFormat,
  tfCheckpointFormat,
  tfSavedModelFormat,
  onnxFormat,
];
