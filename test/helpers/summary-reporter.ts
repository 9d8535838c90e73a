import { availableParallelism, loadavg } from "node:os";
import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends the run with a plain "N passed, N failed, N skipped" line that any CI log reader
 * understands (kept alone on its line), then the run's wall time on the next line.
 */
export default class SummaryReporter implements Reporter {
  private started = performance.now();

  onInit(): void {
    this.started = performance.now();
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      if (module.state() === "failed" && [...module.children.allTests()].length === 0) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    process.stdout.write(`${wallTime(performance.now() - this.started)}\n`);
  }
}

/** "wall time 252.3 s (4 min 12 s) on 2 cores, load average 3.10 at the end" */
export function wallTime(ms: number): string {
  const seconds = ms / 1000;
  const minutes = Math.floor(seconds / 60);
  const clock = minutes > 0 ? ` (${minutes} min ${Math.round(seconds - minutes * 60)} s)` : "";
  return `wall time ${seconds.toFixed(1)} s${clock} on ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(2)} at the end`;
}
