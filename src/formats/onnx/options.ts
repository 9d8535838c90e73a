import type { WriteOptions } from "../types.js";

/** `formatOptions.onnx`: what the ONNX writer can be asked for. */
export interface OnnxOptions {
  /**
   * Put tensor data in a side file `<out>.data`. Unset: only when the model would pass protobuf's
   * 2 GB limit, or, re-weighting a template, as the template did.
   */
  externalData?: boolean;
}

/** What the ONNX writer is told: WriteOptions with its own group. */
export type OnnxWriteOptions = WriteOptions<{ onnx?: OnnxOptions }>;
