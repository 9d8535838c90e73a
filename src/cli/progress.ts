import { humanBytes } from "./output.js";

export type ProgressCallback = (written: number, total: number, tensorsDone?: number, tensorCount?: number) => void;

/** Streams that hold an unfinished progress line, so an interrupt can end it before exiting. */
const openLines = new Set<NodeJS.WriteStream>();

/** Ends any progress line still on screen (Ctrl-C, SIGTERM): the shell prompt gets a line of its own. */
export function endProgressLines(): void {
  for (const stream of openLines) stream.write("\n");
  openLines.clear();
}

/** Whether progress is wanted at all: a TTY, and neither --quiet nor --no-progress. */
let progressWanted = true;
export function setProgressWanted(wanted: boolean): void {
  progressWanted = wanted;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Shortens text to `width` characters by cutting its middle (paths keep their start and file name). */
export function shortenMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, Math.max(0, width));
  const keep = width - 1;
  const tail = Math.ceil(keep / 2);
  return `${text.slice(0, keep - tail)}…${text.slice(text.length - tail)}`;
}

/** One piece of a progress line; optional pieces are left out when the terminal is narrow. */
export interface LinePart {
  text: string;
  optional?: boolean;
}

/**
 * Fits a progress line into `width` columns: optional parts go first (from the end), then the
 * label is shortened in the middle. A line that wraps would leave a stale line per update.
 */
export function fitLine(label: string, parts: LinePart[], width: number): string {
  const kept = [...parts];
  const text = (l: string) => [`${l} ${kept[0]?.text ?? ""}`, ...kept.slice(1).map((p) => p.text)].join("  ");
  for (let i = kept.length - 1; i >= 0 && text(label).length > width; i--) {
    if (kept[i]!.optional) kept.splice(i, 1);
  }
  const rest = text("").length;
  return text(shortenMiddle(label, Math.max(8, width - rest))).slice(0, width);
}

/**
 * A one-line progress display on a TTY (stderr), nothing otherwise: percent, bytes, tensors,
 * rate over the last few seconds and the time left at that rate, fitted to the terminal's width.
 */
export function progressReporter(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  options: { endLine?: boolean } = {},
): ProgressCallback | undefined {
  if (!stream.isTTY || !progressWanted) return undefined;
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
    const parts: LinePart[] = [{ text: `${pct}%` }, { text: `${humanBytes(written)} / ${humanBytes(total)}`, optional: true }];
    if (tensorCount !== undefined) parts.push({ text: `${tensorsDone ?? 0}/${tensorCount} tensors`, optional: true });
    if (written >= total) {
      parts.push({ text: `done in ${clock((now - started) / 1000)}` });
      finished = true;
    } else if (rate > 0) {
      parts.push({ text: `${humanBytes(rate)}/s`, optional: true }, { text: `ETA ${clock((total - written) / rate)}`, optional: true });
    }
    // One column less than the terminal: writing into the last column wraps on some terminals.
    const width = Math.max(20, (stream.columns || 80) - 1);
    // Clear to the end of the line: the new text may be shorter than the old.
    stream.write(`\r${fitLine(label, parts, width)}\x1b[K`);
    openLines.add(stream);
    // A batch keeps one line: each file's progress overwrites the last one's.
    if (finished && options.endLine !== false) {
      stream.write("\n");
      openLines.delete(stream);
    }
  };
}
