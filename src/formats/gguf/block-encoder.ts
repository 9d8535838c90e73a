/** Encodes `values` (a multiple of the block size long) into `out`: one of GGUF's quantized types. */
export type BlockEncoder = (values: Float32Array, out: Uint8Array) => void;
