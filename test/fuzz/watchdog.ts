import { Worker } from "node:worker_threads";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A hang inside synchronous parsing code cannot be interrupted from the same thread, so a tiny
 * worker thread watches the clock: when a case overruns its deadline it records the case and
 * kills the process, which fails the test run loudly instead of hanging CI.
 */
export class Watchdog {
  private readonly worker: Worker;
  readonly reportFile = join(tmpdir(), `weightbridge-fuzz-hang-${process.pid}.txt`);

  constructor() {
    this.worker = new Worker(
      `const { parentPort } = require("node:worker_threads");
       const fs = require("node:fs");
       let current = null;
       parentPort.on("message", (m) => { current = m; });
       setInterval(() => {
         if (current && Date.now() > current.deadline) {
           const line = "fuzz watchdog: case did not finish in time: " + current.label + "\\n";
           try { fs.writeFileSync(current.reportFile, line); } catch {}
           process._rawDebug(line);
           process.kill(process.pid, "SIGKILL");
         }
       }, 200);`,
      { eval: true },
    );
    this.worker.unref();
  }

  start(label: string, limitMs: number): void {
    this.worker.postMessage({ label, deadline: Date.now() + limitMs, reportFile: this.reportFile });
  }

  stop(): void {
    this.worker.postMessage(null);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
