import type { JsonValue } from "../tensor/checkpoint.js";
import type { Inspection, TensorSummary } from "../api/inspect.js";
import { humanBytes } from "./output.js";
import { isKerasModelConfig, kerasModelSummary } from "../keras/model-summary.js";
import { appendAll, maxOf } from "../util/arrays.js";

const count = (n: number) => n.toLocaleString("en-US");
const elements = (t: TensorSummary) => t.shape.reduce((a, b) => a * b, 1);

/** The name/dtype/shape/size table. */
export function tensorTable(tensors: TensorSummary[]): string[] {
  const rows = tensors.map((t) => [t.name, t.storedDtype ? `${t.dtype} (stored ${t.storedDtype})` : t.dtype, `[${t.shape.join(", ")}]`, humanBytes(t.bytes)]);
  const header = ["name", "dtype", "shape", "size"];
  const widths = header.map((h, i) =>
    maxOf(
      rows.map((r) => r[i]!.length),
      h.length,
    ),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return appendAll([line(header)], rows.map(line));
}

/** A value in a stats column: four significant digits, integers as they are. */
function statText(x: number | undefined): string {
  if (x === undefined) return "-";
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  return String(Number(x.toPrecision(4)));
}

/** `inspect --stats`: the values of each tensor summed up, one row each. */
export function statsTable(tensors: TensorSummary[]): string[] {
  const header = ["name", "dtype", "shape", "min", "max", "mean", "std", "nan", "inf"];
  const rows = tensors.map((t) => {
    const s = t.stats;
    const values = s ? [statText(s.min), statText(s.max), statText(s.mean), statText(s.std), String(s.nan), String(s.inf)] : ["-", "-", "-", "-", "-", "-"];
    return [t.name, t.dtype, `[${t.shape.join(", ")}]`, ...values];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Totals: tensors, parameters vs buffers (when the file says which), elements, bytes, and bytes per dtype. */
export function totals(tensors: TensorSummary[]): string[] {
  const bytes = tensors.reduce((n, t) => n + t.bytes, 0);
  const roles = new Map<string, number>();
  for (const t of tensors) if (t.role) roles.set(t.role, (roles.get(t.role) ?? 0) + 1);
  const roleText = roles.size ? ` (${[...roles].map(([role, n]) => `${count(n)} ${role}${n === 1 ? "" : "s"}`).join(", ")})` : "";
  const lines = [`${count(tensors.length)} tensors${roleText}, ${count(tensors.reduce((n, t) => n + elements(t), 0))} elements, ${humanBytes(bytes)}`];
  const byDtype = new Map<string, { tensors: number; bytes: number }>();
  for (const t of tensors) {
    const entry = byDtype.get(t.dtype) ?? { tensors: 0, bytes: 0 };
    entry.tensors++;
    entry.bytes += t.bytes;
    byDtype.set(t.dtype, entry);
  }
  if (byDtype.size > 0) {
    const sorted = [...byDtype].sort((a, b) => b[1].bytes - a[1].bytes);
    lines.push(`dtypes: ${sorted.map(([dtype, e]) => `${dtype} ${count(e.tensors)} (${humanBytes(e.bytes)})`).join(", ")}`);
  }
  return lines;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  tensor?: TensorSummary;
  tensors: number;
  bytes: number;
}

const MAX_TREE_DEPTH = 64;

/** The module/layer tree: names split at `.` (PyTorch, Paddle) or `/` (Keras, TensorFlow). */
export function layerTree(tensors: TensorSummary[]): string[] {
  const root: TreeNode = { children: new Map(), tensors: 0, bytes: 0 };
  for (const t of tensors) {
    let node = root;
    node.tensors++;
    node.bytes += t.bytes;
    const parts = t.name.split(/[./]/);
    // Past 64 levels the rest of the name is one leaf: indentation grows with depth.
    if (parts.length > MAX_TREE_DEPTH) parts.splice(MAX_TREE_DEPTH - 1, Infinity, parts.slice(MAX_TREE_DEPTH - 1).join("."));
    for (const part of parts) {
      let child = node.children.get(part);
      if (!child) node.children.set(part, (child = { children: new Map(), tensors: 0, bytes: 0 }));
      child.tensors++;
      child.bytes += t.bytes;
      node = child;
    }
    node.tensor = t;
  }
  const lines: string[] = [];
  // Depth first without recursion: a name of 10^5 parts must not overflow the stack.
  const stack: Array<{ name: string; node: TreeNode; prefix: string; last: boolean }> = [];
  const pushChildren = (node: TreeNode, prefix: string) => {
    const entries = [...node.children];
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ name: entries[i]![0], node: entries[i]![1], prefix, last: i === entries.length - 1 });
  };
  pushChildren(root, "");
  while (stack.length > 0) {
    const { name, node: child, prefix, last } = stack.pop()!;
    const label =
      child.tensor && child.children.size === 0
        ? `${name}  ${child.tensor.dtype} [${child.tensor.shape.join(", ")}]`
        : `${name}  (${count(child.tensors)} tensor${child.tensors === 1 ? "" : "s"}, ${humanBytes(child.bytes)})`;
    lines.push(`${prefix}${last ? "└─ " : "├─ "}${label}`);
    pushChildren(child, `${prefix}${last ? "   " : "│  "}`);
  }
  return lines;
}

/** Longer meta values are summed up on their line; `--meta KEY` or `--json` shows them whole. */
const LONG_META = 1000;

/** One meta key's lines: a Keras model config as a summary, tables a key per line, and any line still long cut. */
export function metaEntry(key: string, value: JsonValue): string[] {
  if (isKerasModelConfig(value)) return [`  ${key}: ${kerasModelSummary(value)} (whole config: --meta ${key})`];
  return metaLines(key, shortened(value)).map((line) =>
    line.length <= LONG_META ? line : `${line.slice(0, 120)}… (${line.length.toLocaleString("en-US")} characters: --meta ${key} shows it whole)`,
  );
}

/** The whole text report of `inspect` (table or tree, totals, meta; warnings go to stderr). */
export function inspectionText(result: Inspection, tensors: TensorSummary[], options: { tree: boolean; filtered: boolean }): string[] {
  const out = [`format: ${result.format}`];
  if (result.tensors.length === 0) out.push("no tensors: this file holds no weights (only what meta shows)");
  else if (tensors.length === 0) out.push(`no tensor matches the filter (the file holds ${count(result.tensors.length)})`);
  else appendAll(out, options.tree ? layerTree(tensors) : tensors.some((t) => t.stats) ? statsTable(tensors) : tensorTable(tensors), totals(tensors));
  if (options.filtered && tensors.length > 0) out.push(`(filtered: ${count(tensors.length)} of ${count(result.tensors.length)} tensors shown)`);
  const meta = Object.entries(result.meta);
  if (meta.length)
    appendAll(
      out,
      ["meta:"],
      meta.flatMap(([key, value]) => metaEntry(key, value)),
    );
  return out;
}

/** An object with more keys than this (a GGUF's metadata) is a table, not a value: listed a key per line when long. */
const MANY_KEYS = 10;

function isKeyTable(value: JsonValue): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  return Object.keys(value).length > MANY_KEYS || Object.values(value).some(isKeyTable);
}

/** One `key: value` line, or, for a long object holding a table of many keys, a line per entry. */
function metaLines(key: string, value: JsonValue): string[] {
  const line = `  ${key}: ${JSON.stringify(value)}`;
  if (line.length <= 160 || !value || typeof value !== "object" || Array.isArray(value) || !isKeyTable(value)) return [line];
  return Object.entries(value).flatMap(([k, v]) => metaLines(`${key}.${k}`, v));
}

/** Arrays longer than this (a GGUF vocabulary) are shown by their first items and their length. */
const SHOWN_ITEMS = 8;

/** The value with long arrays cut to their first items plus a note of how many there are. */
function shortened(value: JsonValue): JsonValue {
  if (Array.isArray(value)) {
    const head = value.slice(0, SHOWN_ITEMS).map(shortened);
    return value.length > 2 * SHOWN_ITEMS ? [...head, `… ${value.length} items`] : value.map(shortened);
  }
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shortened(v)]));
  return value;
}
