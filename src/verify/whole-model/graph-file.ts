/** A model for onnxruntime: its path (external data beside it), its bytes, or how to read them. */
export type GraphFile = string | Uint8Array | (() => Promise<Uint8Array>);
