import { parentPort } from "node:worker_threads";
import { runKernelJob, type KernelJob } from "./kernel-jobs.js";

// One kernel-pool worker: runs jobs one at a time and hands the output buffer back without a copy.

interface Request {
  id: number;
  job: KernelJob;
  bytes: Uint8Array;
}

parentPort!.on("message", ({ id, job, bytes }: Request) => {
  try {
    let out = runKernelJob(job, bytes);
    // Some kernels return their input (or a view of a bigger buffer): own the bytes before transfer.
    if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) out = out.slice();
    parentPort!.postMessage({ id, bytes: out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
