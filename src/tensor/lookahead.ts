import { isComputedData, type Tensor, type TensorData } from "./tensor.js";

/**
 * The same tensors, where reading one starts computing the next (a transpose, a combine) if it
 * is computed, so its work (in a kernel worker) overlaps with writing the current one. At most one
 * tensor is computed ahead; bytes computed ahead and never asked for are dropped.
 */
export function withLookahead(tensors: Tensor[]): Tensor[] {
  let ahead: { index: number; bytes: Promise<Uint8Array> } | undefined;

  const startAfter = (index: number): void => {
    const next = tensors[index + 1];
    if (!next || !isComputedData(next.data) || ahead?.index === index + 1) return;
    const bytes = next.data.read();
    bytes.catch(() => {}); // reported when (if) the writer asks for this tensor
    ahead = { index: index + 1, bytes };
  };
  const takeAhead = (index: number): Promise<Uint8Array> | undefined => {
    if (ahead?.index !== index) return undefined;
    const { bytes } = ahead;
    ahead = undefined;
    return bytes;
  };

  // Tensors sharing one data object (tied weights) keep sharing it: writers store such data once.
  const wrapped = new Map<TensorData, TensorData>();
  return tensors.map((tensor, index) => {
    const source = tensor.data;
    const seen = wrapped.get(source);
    if (seen) return { ...tensor, data: seen };
    const data: TensorData = {
      byteLength: source.byteLength,
      ...(source.crc32 !== undefined ? { crc32: source.crc32 } : {}),
      read() {
        const bytes = takeAhead(index) ?? source.read();
        startAfter(index);
        return bytes;
      },
      async *chunks(maxBytes: number) {
        const early = takeAhead(index);
        startAfter(index);
        if (!early) {
          yield* source.chunks(maxBytes);
          return;
        }
        const bytes = await early;
        for (let at = 0; at < bytes.byteLength; at += maxBytes) yield bytes.subarray(at, Math.min(at + maxBytes, bytes.byteLength));
      },
    };
    if (source.streamChunks) {
      data.streamChunks = (maxBytes: number) => {
        startAfter(index);
        return source.streamChunks!(maxBytes);
      };
    }
    wrapped.set(source, data);
    return { ...tensor, data };
  });
}
