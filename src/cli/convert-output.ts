import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ConversionReport } from "../api/report.js";
import { humanBytes } from "./output.js";
import { maxOf } from "../util/arrays.js";

// What convert prints besides warnings and the mapping summary: the plan of a --dry-run (stdout)
// and the one success line (stderr), as git and huggingface-cli end a command with what they did.

/** `--dry-run`: one line per tensor the output would hold (source → target, shape, dtype, transforms), then a total. */
export function planLines(report: ConversionReport): string[] {
  const rows = report.tensors.map((t) => [
    t.source === t.target ? t.target : `${t.source} → ${t.target}`,
    `[${(t.targetShape ?? t.shape).join(", ")}]`,
    t.targetDtype,
    t.transforms.join(", "),
  ]);
  const widths = [0, 1, 2].map((i) =>
    maxOf(
      rows.map((r) => r[i]!.length),
      0,
    ),
  );
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join("  ")
      .trimEnd(),
  );
  const counts = [`${report.tensors.length} tensors`];
  for (const [label, list] of [
    ["dropped", report.dropped],
    ["added", report.added],
    ["unmatched", report.unmatched],
  ] as const) {
    if (list?.length) counts.push(`${list.length} ${label}`);
  }
  lines.push(`dry run: ${report.from} → ${report.to}, ${counts.join(", ")} would be written to ${report.output}; nothing was written`);
  return lines;
}

/** Bytes an output takes on disk: the file, a sharded set (its index and shards) or a folder. */
export async function outputBytes(path: string): Promise<number | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return info.size + ((await stat(`${path}.data`).catch(() => undefined))?.size ?? 0);
  if (info?.isDirectory()) {
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    let total = 0;
    for (const e of entries) if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
    return total;
  }
  const index = await readFile(`${path}.index.json`, "utf8").catch(() => undefined);
  if (index === undefined) return undefined;
  const shards = new Set(Object.values((JSON.parse(index) as { weight_map: Record<string, string> }).weight_map));
  let total = Buffer.byteLength(index);
  for (const shard of shards) total += (await stat(join(dirname(path), shard))).size;
  return total;
}

/** `weightbridge: wrote out.safetensors (safetensors, 10 tensors, 1.2 KiB) in 0.4 s`. */
export function successLine(report: ConversionReport, shownAs: string, bytes: number | undefined, milliseconds: number): string {
  const facts = [report.to, `${report.tensors.length.toLocaleString("en-US")} tensor${report.tensors.length === 1 ? "" : "s"}`];
  if (bytes !== undefined) facts.push(humanBytes(bytes));
  const seconds = milliseconds < 10_000 ? (milliseconds / 1000).toFixed(1) : Math.round(milliseconds / 1000).toString();
  return `weightbridge: wrote ${shownAs} (${facts.join(", ")}) in ${seconds} s`;
}
