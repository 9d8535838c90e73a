/** Options of the GGUF writer (`formatOptions.gguf`; the CLI's `--quantize`). */
export interface GgufOptions {
  /**
   * Quantize the weight matrices to this ggml type (Q8_0, Q4_0), with llama.cpp's rules: 1-D
   * tensors and norms stay F32, matrices whose rows are not whole blocks become F16.
   */
  quantize?: string;
}
