// Recycled buffers: kernel inputs (dead once the kernel returns), kernel outputs (dead once a
// writer has streamed them: kernels/pooled-data.ts), whole tensors a writer borrows
// (kernels/borrow.ts), the pieces a file range is streamed through (io/read-ahead.ts). Their memory is kept for the next tensor instead of being freed and faulted in
// afresh (a page fault per 4 KiB, which dominated transposing conversions on this VM).
// A buffer is in the pool only while nobody holds it: take() removes it, give() puts it back.

/** Tensors larger than this get a fresh buffer that is not kept (the HDF5 writer's slab size). */
const MAX_SCRATCH_BYTES = 64 << 20;
/**
 * Bytes the pool may keep between tensors: the inputs and outputs of the tensor being written and
 * the one computed ahead, for Linear weights of a large model.
 */
const MAX_POOLED_BYTES = 96 << 20;

const pool: ArrayBuffer[] = [];
let pooledBytes = 0;

/** A buffer of exactly `length` bytes whose contents are undefined; hand it back with give(). */
export function takeScratch(length: number): Uint8Array {
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    const size = pool[i]!.byteLength;
    // Not a buffer far bigger than asked for: it is kept for the big tensor it came from.
    if (size >= length && size <= 2 * length + 4096 && (best < 0 || size < pool[best]!.byteLength)) best = i;
  }
  if (best < 0) return new Uint8Array(length);
  const [buffer] = pool.splice(best, 1);
  pooledBytes -= buffer!.byteLength;
  return new Uint8Array(buffer!, 0, length);
}

/** Returns a buffer from takeScratch(); the caller must hold no view of it any more. */
export function giveScratch(scratch: Uint8Array): void {
  const buffer = scratch.buffer as ArrayBuffer;
  const size = buffer.byteLength; // 0 once detached (transferred to a worker): nothing to keep
  if (size === 0 || size > MAX_SCRATCH_BYTES) return;
  while (pool.length > 0 && pooledBytes + size > MAX_POOLED_BYTES) pooledBytes -= pool.shift()!.byteLength;
  if (pooledBytes + size > MAX_POOLED_BYTES) return;
  pool.push(buffer);
  pooledBytes += size;
}
