import type { WriteOptions } from "../types.js";

/** What the GGUF writer is told: WriteOptions with its own group. */
export type GgufWriteOptions = WriteOptions<{ gguf?: GgufOptions }>;

/** Options of the GGUF writer (`formatOptions.gguf`; the CLI's `--quantize`). */
export interface GgufOptions {
  /**
   * Quantize every weight matrix to this ggml type (Q8_0, Q4_0, Q4_K, Q6_K; like llama-quantize
   * --pure), with llama.cpp's rules: 1-D tensors and norms stay F32; a matrix whose rows are not
   * whole blocks gets llama-quantize's fallback (Q4_K → Q5_0, Q6_K → Q8_0), else F16.
   */
  quantize?: string;
}

/** The types `--quantize` offers (Q5_0 is only written as Q4_K's fallback). */
export const QUANTIZE_TO = ["Q8_0", "Q4_0", "Q4_K", "Q6_K"];
