import type { ByteSource } from "../../io/source.js";
import type { Checkpoint, JsonObject, JsonValue, Structure } from "../../tensor/checkpoint.js";
import { makeTensor, sourceData, type Tensor } from "../../tensor/tensor.js";
import { byteLengthOf, type DType } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import { u64, fromUtf8 } from "../../util/bytes.js";
import { DTYPE_FROM_SAFETENSORS } from "./dtypes.js";
import { JSON_KEYS, STRUCTURE_KEY } from "./metadata.js";
import { jsonObjectMembers } from "../../util/json.js";
import { turnIfDue, turnIfLate } from "../../util/event-loop.js";

const MAX_HEADER = 100 << 20;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export async function readSafetensors(source: ByteSource): Promise<Checkpoint> {
  const file = source.name;
  if (source.size < 8) throw new WeightbridgeError("truncated", "too short for a safetensors header", { file });
  const headerLength = u64(await source.read(0, 8), 0);
  if (!(headerLength <= MAX_HEADER && 8 + headerLength <= source.size)) {
    throw new WeightbridgeError("corrupt", `safetensors header length ${headerLength} does not fit the file (${source.size} bytes)`, { file, offset: 0 });
  }
  const text = fromUtf8(await source.read(8, headerLength));
  if (!/^\s*\{/.test(text)) throw new WeightbridgeError("corrupt", "safetensors header is not a JSON object", { file, offset: 8 });
  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  const entries = new HeaderColumns();
  const names = new Set<string>();
  let metadata: Record<string, string> = {};
  try {
    // Entry by entry (10^6 tensors: one at a time, with turns of the event loop for signals).
    for (const [name, value] of jsonObjectMembers(text)) {
      await turnIfDue();
      // JSON.parse would keep the last of two equal keys; safetensors' own loader then finds the
      // first one's bytes unused. Either way the file is ambiguous.
      if (names.has(name)) throw new WeightbridgeError("corrupt", `the header names tensor '${name}' twice`, { file, tensor: name, offset: 8 });
      names.add(name);
      if (name === "__metadata__") metadata = checkMetadata(value, file);
      else entries.add(name, checkEntry(name, value, dataSize, file));
    }
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new WeightbridgeError("corrupt", `safetensors header is not valid JSON: ${e.message}`, { file, offset: 8 });
  }
  names.clear();
  const { begins, ends } = entries;
  const order = Array.from({ length: begins.length }, (_, i) => i).sort((a, b) => begins[a]! - begins[b]! || ends[a]! - ends[b]!);
  await turnIfLate();
  checkTiling(entries, order, dataSize, dataStart, file);
  const tensors: Tensor[] = [];
  for (const i of order) {
    await turnIfDue();
    tensors.push(makeTensor(entries.names[i]!, entries.dtypes[i]!, entries.shapes[i]!, sourceData(source, dataStart + begins[i]!, ends[i]! - begins[i]!)));
  }
  const { meta, structure } = decodeMetadata(metadata);
  const checkpoint: Checkpoint = { format: "safetensors", tensors, meta };
  if (structure) checkpoint.structure = structure;
  return checkpoint;
}

/**
 * The header's tensors as columns, not an object (and two arrays) per entry: 10^6 entries are held
 * until all are read and sorted. Equal shapes are one array (an MoE checkpoint has a handful).
 */
class HeaderColumns {
  readonly names: string[] = [];
  readonly dtypes: DType[] = [];
  readonly shapes: number[][] = [];
  readonly begins: number[] = [];
  readonly ends: number[] = [];
  private readonly shapesSeen = new Map<string, number[]>();

  add(name: string, entry: HeaderEntry): void {
    const key = entry.shape.join(",");
    let shape = this.shapesSeen.get(key);
    if (!shape) {
      shape = entry.shape;
      this.shapesSeen.set(key, shape);
    }
    this.names.push(name);
    this.dtypes.push(DTYPE_FROM_SAFETENSORS[entry.dtype]!);
    this.shapes.push(shape);
    this.begins.push(entry.data_offsets[0]);
    this.ends.push(entry.data_offsets[1]);
  }
}

function checkMetadata(value: unknown, file: string): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value) || !Object.values(value as object).every((v) => typeof v === "string")) {
    throw new WeightbridgeError("corrupt", "safetensors __metadata__ must map strings to strings", { file });
  }
  return value as Record<string, string>;
}

function checkEntry(name: string, value: unknown, dataSize: number, file: string): HeaderEntry {
  const fail = (why: string) => new WeightbridgeError("corrupt", why, { file, tensor: name });
  const e = value as HeaderEntry;
  if (!e || typeof e !== "object") throw fail("header entry is not an object");
  const dtype = DTYPE_FROM_SAFETENSORS[e.dtype];
  if (!dtype) throw new WeightbridgeError("unsupported", `safetensors dtype '${String(e.dtype)}'`, { file, tensor: name });
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail("shape must be a list of non-negative integers");
  const offsets = e.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw fail("data_offsets must be two non-negative integers");
  }
  const [begin, end] = offsets;
  if (begin > end || end > dataSize) throw fail(`data_offsets [${begin}, ${end}] are outside the ${dataSize} data bytes`);
  const expected = byteLengthOf(dtype, e.shape);
  if (end - begin !== expected) throw fail(`${e.dtype}[${e.shape.join(", ")}] needs ${expected} bytes but data_offsets span ${end - begin}`);
  return e;
}

/**
 * The whole header at once, as safetensors' own loader checks it: the tensors' byte ranges, in
 * offset order, tile the data section, starting at 0, each beginning where the one before ended
 * (no gap, no overlap), the last ending at the end of the file.
 */
function checkTiling(entries: HeaderColumns, order: readonly number[], dataSize: number, dataStart: number, file: string): void {
  let end = 0;
  let previous: string | undefined;
  for (const i of order) {
    const name = entries.names[i]!;
    const begin = entries.begins[i]!;
    const next = entries.ends[i]!;
    if (begin !== end) {
      const why =
        begin > end
          ? `data_offsets [${begin}, ${next}] leave data bytes ${end}..${begin} unused${previous === undefined ? " before the first tensor" : ` after '${previous}'`}`
          : `data_offsets [${begin}, ${next}] overlap '${previous}', which ends at ${end}`;
      throw new WeightbridgeError("corrupt", why, { file, tensor: name, offset: dataStart + begin });
    }
    end = next;
    previous = name;
  }
  if (end !== dataSize) {
    throw new WeightbridgeError(
      "corrupt",
      `the tensors' data ends at data byte ${end}, but the file has ${dataSize} data bytes (the last ${dataSize - end} belong to no tensor)`,
      { file, offset: dataStart + end },
    );
  }
}

function decodeMetadata(metadata: Record<string, string>): { meta: JsonObject; structure?: Structure } {
  let jsonKeys: string[] = [];
  try {
    jsonKeys = metadata[JSON_KEYS] ? JSON.parse(metadata[JSON_KEYS]) : [];
  } catch {
    jsonKeys = [];
  }
  const meta: JsonObject = {};
  let structure: Structure | undefined;
  for (const [key, value] of Object.entries(metadata)) {
    if (key === JSON_KEYS) continue;
    if (key === STRUCTURE_KEY) {
      try {
        structure = JSON.parse(value) as Structure;
      } catch {
        // A damaged structure only loses the nesting; the tensors are still right.
      }
      continue;
    }
    let decoded: JsonValue = value;
    if (jsonKeys.includes(key)) {
      try {
        decoded = JSON.parse(value);
      } catch {
        decoded = value;
      }
    }
    meta[key] = decoded;
  }
  return structure ? { meta, structure } : { meta };
}
