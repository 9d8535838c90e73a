import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { WeightbridgeError } from "../errors.js";
import { runKernelJob, type KernelJob } from "./kernel-jobs.js";

/**
 * Worker threads for transposes and casts, so they run beside the main thread's reading and
 * writing instead of between them. They pay off only with cores to spare: the main thread and
 * libuv's I/O threads already keep two cores busy, and on the 2-core bench machine workers made
 * conversions slower (copies, transfers and fresh output buffers; bench/RESULTS.md). So by default
 * there are workers only from 4 cores up; WEIGHTBRIDGE_WORKERS=N sets the count (0 = none).
 * Small jobs always run in place (a round trip costs more than they do), as does everything when
 * the code runs from TypeScript sources, where there is no compiled worker script. The script is
 * the one beside this module: tsc's dist/kernels/kernel-worker.js for the library, and for the CLI
 * bundle dist/cli/main.js its own bundled dist/cli/kernel-worker.js (scripts/build-cli.mjs).
 */

/** Below this many input bytes a job runs in place. */
export const OFFLOAD_MIN_BYTES = 1 << 20;
const MAX_WORKERS = 4;

interface Pending {
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
}

class KernelWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  failure?: Error;

  constructor(script: URL) {
    this.worker = new Worker(script);
    this.worker.on("message", (m: { id: number; bytes?: Uint8Array; error?: string }) => {
      const job = this.pending.get(m.id);
      if (!job) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.bytes) job.resolve(m.bytes);
      else job.reject(new WeightbridgeError("corrupt", m.error ?? "kernel failed"));
    });
    const fail = (e: Error): void => {
      this.failure = new WeightbridgeError("unsupported", `kernel worker stopped: ${e.message}`);
      for (const job of this.pending.values()) job.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`exit code ${code}`)));
    // After the listeners: adding a "message" listener refs the worker again.
    this.worker.unref();
  }

  get load(): number {
    return this.pending.size;
  }

  run(job: KernelJob, bytes: Uint8Array): Promise<Uint8Array> {
    // The worker takes the buffer over (transfer), so it gets a private copy: the caller's bytes
    // may be shared with other readers.
    const own = bytes.slice();
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // a job in flight keeps the process alive; an idle pool does not
      this.worker.postMessage({ id, job, bytes: own }, [own.buffer as ArrayBuffer]);
    });
  }
}

let workers: KernelWorker[] | undefined;

function workerCount(): number {
  const setting = process.env.WEIGHTBRIDGE_WORKERS;
  if (setting !== undefined && /^\d+$/.test(setting.trim())) return Math.min(Number(setting), MAX_WORKERS);
  const cores = availableParallelism();
  return cores >= 4 ? Math.min(cores - 2, MAX_WORKERS) : 0;
}

function pool(): KernelWorker[] {
  if (workers) return workers;
  const script = new URL("./kernel-worker.js", import.meta.url);
  const usable = script.protocol === "file:" && existsSync(fileURLToPath(script));
  workers = [];
  if (usable) for (let i = workerCount(); i > 0; i--) workers.push(new KernelWorker(script));
  return workers;
}

/** Are there kernel workers to run jobs beside the main thread? */
export function kernelWorkersAvailable(): boolean {
  return pool().some((w) => !w.failure);
}

/**
 * Runs a kernel job: in a worker thread when one is free to take it, else in place. `out` is where
 * an in-place run writes its result (see runKernelJob); a worker returns its own new buffer instead.
 */
export async function runKernel(job: KernelJob, bytes: Uint8Array, minBytes = OFFLOAD_MIN_BYTES, out?: Uint8Array): Promise<Uint8Array> {
  const live = bytes.byteLength >= minBytes ? pool().filter((w) => !w.failure) : [];
  if (live.length === 0) return runKernelJob(job, bytes, out);
  const idlest = live.reduce((a, b) => (b.load < a.load ? b : a));
  return idlest.run(job, bytes);
}
