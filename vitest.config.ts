import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // FUZZ_REPRO replays one fuzz case (test/fuzz/repro.replay.ts); it is not part of the suite.
    include: process.env.FUZZ_REPRO ? ["test/fuzz/repro.replay.ts"] : ["test/**/*.test.ts"],
    // Watchdogs for hangs only, generous for a loaded 2-core machine: no test is judged by its time.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Vitest's default (cores - 1) runs one file at a time on 2 cores; most files wait on child
    // processes (CLI, Python), so two at a time finish in ~60 % of the time there.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ["./test/helpers/run-tmpdir.ts"],
    // toEqualBytes, and typed arrays compared by memcmp (test/helpers/setup-bytes.ts).
    setupFiles: ["./test/helpers/setup-bytes.ts"],
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
