import type { ByteSource } from "../../io/source.js";
import { concatBytes } from "../../util/bytes.js";
import { FIELD } from "./schema.js";
import { type ByteAt, type WireField, WIRE_LEN, lengthDelimited, lengthPrefix, walkFields } from "../../protobuf/wire.js";

// A big inline .onnx is not read whole: the model is walked through a window over the file and
// copied into a "skeleton" in which every large initializer raw_data is left empty; the skeleton
// is what protobuf decodes, and the data stays in the file as byte ranges. Memory is then the
// graph's structure, not the weights.

const WINDOW_BYTES = 1 << 20;

/** Where an initializer's raw_data is in the file. */
export interface RawRange {
  offset: number;
  length: number;
}

export interface Skeleton {
  bytes: Uint8Array;
  /** Per graph initializer, in order: its raw_data range when it was left out of `bytes`. */
  rawRanges: Array<RawRange | undefined>;
}

/** Positioned reads through a window that slides forward. */
class Window implements ByteAt {
  private start = 0;
  private buffer: Uint8Array = new Uint8Array(0);
  constructor(private readonly source: ByteSource & { readSync(offset: number, length: number): Uint8Array }) {}

  byteAt(offset: number): number {
    if (offset < this.start || offset >= this.start + this.buffer.byteLength) {
      this.start = offset;
      this.buffer = this.source.readSync(offset, Math.min(WINDOW_BYTES, this.source.size - offset));
    }
    return this.buffer[offset - this.start]!;
  }

  copy(from: number, to: number): Uint8Array {
    if (from >= this.start && to <= this.start + this.buffer.byteLength) return this.buffer.slice(from - this.start, to - this.start);
    return this.source.readSync(from, to - from);
  }
}

export function modelSkeleton(source: ByteSource & { readSync(offset: number, length: number): Uint8Array }, minRawBytes = 4096): Skeleton {
  const window = new Window(source);
  const rawRanges: Array<RawRange | undefined> = [];
  const copy = (f: WireField) => window.copy(f.start, f.end);
  const rebuilt = (field: number, parts: Uint8Array[]) => lengthDelimited(field, concatBytes(parts));

  const tensor = (f: WireField): Uint8Array => {
    const parts: Uint8Array[] = [];
    let raw: RawRange | undefined;
    for (const t of walkFields(window, f.valueStart, f.end)) {
      if (t.field === FIELD.tensor.rawData && t.wireType === WIRE_LEN && t.end - t.valueStart >= minRawBytes) {
        raw = { offset: t.valueStart, length: t.end - t.valueStart };
        parts.push(lengthPrefix(FIELD.tensor.rawData, 0));
      } else parts.push(copy(t));
    }
    rawRanges.push(raw);
    return rebuilt(FIELD.graph.initializer, parts);
  };
  const graph = (f: WireField): Uint8Array => {
    const parts: Uint8Array[] = [];
    for (const g of walkFields(window, f.valueStart, f.end)) {
      parts.push(g.field === FIELD.graph.initializer && g.wireType === WIRE_LEN ? tensor(g) : copy(g));
    }
    return rebuilt(FIELD.model.graph, parts);
  };
  const parts: Uint8Array[] = [];
  for (const f of walkFields(window, 0, source.size)) parts.push(f.field === FIELD.model.graph && f.wireType === WIRE_LEN ? graph(f) : copy(f));
  return { bytes: concatBytes(parts), rawRanges };
}
