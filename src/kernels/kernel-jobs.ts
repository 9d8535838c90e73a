import { castBytes, castInto } from "./cast.js";
import type { DType } from "../tensor/dtype.js";
import { permuteBytes, permuteInto } from "./permute.js";

/**
 * The CPU-heavy steps of a conversion, described as plain data so they can run in a worker
 * thread (./kernel-pool.ts) as well as here: a layout permutation or a dtype cast of whole elements.
 */
export type KernelJob = { kind: "permute"; shape: number[]; elementSize: number; perm: number[] } | { kind: "cast"; from: DType; to: DType };

/** Runs a job on `bytes`; with `out` (exactly the output's length) the result is written there and `out` returned. */
export function runKernelJob(job: KernelJob, bytes: Uint8Array, out?: Uint8Array): Uint8Array {
  switch (job.kind) {
    case "permute":
      if (!out) return permuteBytes(bytes, job.shape, job.elementSize, job.perm);
      permuteInto(bytes, out, job.shape, job.elementSize, job.perm);
      return out;
    case "cast":
      if (!out) return castBytes(bytes, job.from, job.to);
      castInto(bytes, out, job.from, job.to);
      return out;
  }
}
