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
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Prints an error the CLI way (one line, stack only with --debug) and returns the exit code. */
export function reportError(e: unknown, debug: boolean): number {
  if (e instanceof UsageError) {
    process.stderr.write(`weightbridge: ${e.message}\n`);
    return 2;
  }
  if (e instanceof WeightbridgeError) {
    process.stderr.write(`weightbridge: error: ${e.describe()}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.code === "usage" ? 2 : 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`weightbridge: internal error: ${message.split("\n")[0]} (run with --debug for details)\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/**
 * A one-line progress display on a TTY (stderr), nothing otherwise: percent, bytes, tensors,
 * rate over the last few seconds and the time left at that rate.
 */
export function progressReporter(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): ((written: number, total: number, tensorsDone?: number, tensorCount?: number) => void) | undefined {
  if (!stream.isTTY) return undefined;
  const started = Date.now();
  const samples: { at: number; bytes: number }[] = [{ at: started, bytes: 0 }];
  let last = 0;
  let finished = false;
  return (written, total, tensorsDone, tensorCount) => {
    const now = Date.now();
    if (finished || (now - last < 200 && written < total)) return;
    last = now;
    samples.push({ at: now, bytes: written });
    while (samples.length > 2 && now - samples[0]!.at > 5000) samples.shift();
    const first = samples[0]!;
    const rate = now > first.at ? ((written - first.bytes) * 1000) / (now - first.at) : 0;
    const pct = total > 0 ? Math.min(100, Math.floor((written / total) * 100)) : 100;
    const parts = [`${label} ${pct}%`, `${humanBytes(written)} / ${humanBytes(total)}`];
    if (tensorCount !== undefined) parts.push(`${tensorsDone ?? 0}/${tensorCount} tensors`);
    if (written >= total) {
      parts.push(`done in ${clock((now - started) / 1000)}`);
      finished = true;
    } else if (rate > 0) parts.push(`${humanBytes(rate)}/s`, `ETA ${clock((total - written) / rate)}`);
    // Clear to the end of the line: the new text may be shorter than the old.
    stream.write(`\r${parts.join("  ")}\x1b[K`);
    if (finished) stream.write("\n");
  };
}
