import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const CLI = join(import.meta.dirname, "../../dist/cli/main.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds first) and captures its output. */
export function runCli(args: string[], options: { cwd?: string; timeout?: number; env?: Record<string, string> } = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    cwd: options.cwd,
    env: options.env ? { ...process.env, ...options.env } : undefined,
    // A watchdog, not a judgement: a CLI call may wait its turn for minutes on a loaded machine.
    timeout: options.timeout ?? 150_000,
  });
  const timedOut = result.error && "code" in result.error && result.error.code === "ETIMEDOUT";
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: timedOut ? `${result.stderr}\n[test watchdog: killed after ${options.timeout ?? 150_000} ms]` : result.stderr,
  };
}
