import { WeightbridgeError } from "../errors.js";

/** Thrown for bad command-line usage: exit code 2. */
export class UsageError extends Error {}

export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  // A rate in bytes per second is fractional: whole bytes only.
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The one line the CLI prints for an error on stderr (the page shows the same line). A usage
 * error is exit code 2; stack traces only with --debug.
 */
export function errorLine(e: unknown): string {
  if (e instanceof UsageError) return `weightbridge: ${e.message}`;
  if (e instanceof WeightbridgeError) return `weightbridge: error: ${describeError(e)}`;
  const message = e instanceof Error ? e.message : String(e);
  return `weightbridge: internal error: ${message.split("\n")[0]}`;
}

/**
 * An error as `--json` prints it on stdout (the one line still goes to stderr): what a script
 * branches on (`code`: an ErrorCode, `usage`, or `internal` for a bug) and where it happened.
 */
export function errorJson(e: unknown): { error: { code: string; message: string; line: string; location?: Record<string, unknown> } } {
  const line = errorLine(e).replace(/^weightbridge: (error: |internal error: )?/, "");
  if (e instanceof WeightbridgeError) {
    const location = Object.fromEntries(Object.entries(e.location).filter(([, v]) => v !== undefined));
    return { error: { code: e.code, message: e.message, line, ...(Object.keys(location).length ? { location } : {}) } };
  }
  if (e instanceof UsageError) return { error: { code: "usage", message: e.message.split("\n")[0]!, line: line.split("\n")[0]! } };
  return { error: { code: "internal", message: e instanceof Error ? e.message.split("\n")[0]! : String(e), line } };
}

/** Prints an error the CLI way (one line, stack only with --debug) and returns the exit code. */
export function reportError(e: unknown, debug: boolean): number {
  if (e instanceof UsageError) {
    process.stderr.write(`${errorLine(e)}\n`);
    return 2;
  }
  if (e instanceof WeightbridgeError) {
    process.stderr.write(`${errorLine(e)}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.code === "usage" ? 2 : 1;
  }
  process.stderr.write(`${errorLine(e)} (run with --debug for details)\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}

/** The one line an error is shown as (without the `weightbridge: error:` prefix). */
export function describeError(e: WeightbridgeError): string {
  if (e.code === "unsafe-pickle") {
    const file = e.location.file ? e.location.file.split(":")[0] : "FILE";
    return `${e.describe()}. The file may be hostile; nothing in it was run. 'weightbridge scan ${file}' lists every global its pickles reference`;
  }
  return e.describe();
}
