/** weightbridge: model weights between PyTorch, Keras, TensorFlow, PaddlePaddle, ONNX and safetensors. */
export { read, type Input, type ReadOptions, type OpenCheckpoint } from "./api/open.js";
export { write, writeBytes, type WriteOptions } from "./api/write.js";
export { convert, type ConvertOptions, type CastTarget } from "./api/convert.js";
export { modelGraph, type ModelGraphOptions, type OpenGraph } from "./api/model-graph.js";
export type { Graph, GraphNode, ValueInfo, Attribute, Dim } from "./graph/ir.js";
export { convertToTorchModule, type TorchModuleOptions, type TorchModuleReport } from "./api/torch-module.js";
export { emitTorchModule, type TorchModule, type EmitOptions } from "./graph/to-torch/emit.js";
export { inspect, type Inspection, type TensorSummary } from "./api/inspect.js";
export { diff, type DiffOptions, type DiffResult, type TensorDiff } from "./api/diff.js";
export {
  mapCheckpoint,
  presetInfo,
  presetNames,
  type PresetInfo,
  type MapOptions,
  type MappingOutcome,
  type MappingReport,
  type RuleSet,
} from "./mapping/index.js";
export type { ConversionReport, TensorReport } from "./api/report.js";
export { formats, type FormatInfo } from "./api/formats.js";
export { scan, type ScanResult, type ScanFinding } from "./api/scan.js";
export { verify, type VerifyOptions, type VerifyOutcome, type VerifyRow } from "./api/verify.js";

export { WeightbridgeError, type ErrorCode, type ErrorLocation } from "./errors.js";
export { DTYPES, type DType, dtypeSize, numelOf } from "./tensor/dtype.js";
export { type Tensor, type TensorData, type LayerHint, bytesData, makeTensor } from "./tensor/tensor.js";
export { type Checkpoint, type Structure, type JsonValue, type JsonObject, selectSubtree } from "./tensor/checkpoint.js";
export { castTensor } from "./kernels/cast-tensor.js";
export { fileSource, memorySource, blobSource, type ByteSource } from "./io/source.js";
export type { FormatId } from "./formats/index.js";
export type { FormatOptions } from "./formats/index.js";
export type { OnnxOptions } from "./formats/onnx/options.js";
export type { PaddleOptions } from "./formats/paddle/options.js";
