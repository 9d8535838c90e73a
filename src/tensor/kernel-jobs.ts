import { castBytes } from "./cast.js";
import type { DType } from "./dtype.js";
import { permuteBytes } from "./permute.js";

/**
 * The CPU-heavy steps of a conversion, described as plain data so they can run in a worker
 * thread (./kernel-pool.ts) as well as here: a layout permutation or a dtype cast of whole elements.
 */
export type KernelJob =
  | { kind: "permute"; shape: number[]; elementSize: number; perm: number[] }
  | { kind: "cast"; from: DType; to: DType };

export function runKernelJob(job: KernelJob, bytes: Uint8Array): Uint8Array {
  switch (job.kind) {
    case "permute":
      return permuteBytes(bytes, job.shape, job.elementSize, job.perm);
    case "cast":
      return castBytes(bytes, job.from, job.to);
  }
}
