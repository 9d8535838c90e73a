import { giveScratch, takeScratch } from "../util/scratch.js";
import type { TensorData } from "../tensor/tensor.js";

/**
 * Runs `use` on all of a tensor's bytes at once, in recycled memory when the data allows (a file
 * range read into a scratch buffer, or a pooled kernel output streamed as one chunk), so writers
 * that need whole tensors (libhdf5 datasets) do not fault in a new buffer per tensor. The bytes are
 * valid only while `use` runs; it must not keep them (or a view of them).
 */
export async function borrowBytes<T>(data: TensorData, use: (bytes: Uint8Array) => T | Promise<T>): Promise<T> {
  if (data.lend) return data.lend(use);
  const length = data.byteLength;
  if (length > 0 && data.readInto) {
    const scratch = takeScratch(length);
    await data.readInto(scratch);
    const result = await use(scratch);
    giveScratch(scratch); // only after a clean finish: on a failure nobody can be sure it is unused
    return result;
  }
  return use(await data.read());
}
