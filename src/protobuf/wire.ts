import { WeightbridgeError } from "../errors.js";

// The protobuf wire format, schema-free: varints, walking a message's fields without decoding
// them, and writing length-delimited fields. Format folders keep their own field-number tables
// (ONNX sniffs files and splices a template's bytes verbatim; Paddle frames TensorDescs).

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface WireField {
  field: number;
  wireType: number;
  /** Byte range of the whole field (tag included) within the walked buffer. */
  start: number;
  end: number;
  /** Byte range of the value (for length-delimited fields: the payload after the length). */
  valueStart: number;
  /** A varint field's value (exact while below 2^53). */
  varint?: number;
}

/** Where walkFields reads from: bytes in memory, or a window over a file (onnx/skeleton.ts). */
export interface ByteAt {
  byteAt(offset: number): number;
}

/** Reads a varint at `at`; returns [value, next offset]. Values past 2^53 lose precision. */
export function readVarint(bytes: Uint8Array | ByteAt, at: number, limit = "byteAt" in bytes ? Infinity : bytes.byteLength): [number, number] {
  const byteAt = "byteAt" in bytes ? (i: number) => bytes.byteAt(i) : (i: number) => bytes[i]!;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= limit) throw new WeightbridgeError("truncated", "protobuf varint runs past the end of the data", { offset: at });
    const b = byteAt(at++);
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, at];
    scale *= 128;
  }
  throw new WeightbridgeError("corrupt", "protobuf varint longer than 10 bytes", { offset: at });
}

/** The fields of the message in bytes[from, to), in file order. Throws on malformed framing. */
export function* walkFields(bytes: Uint8Array | ByteAt, from = 0, to = "byteAt" in bytes ? 0 : bytes.byteLength): Generator<WireField> {
  let at = from;
  while (at < to) {
    const start = at;
    const [tag, afterTag] = readVarint(bytes, at, to);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) throw new WeightbridgeError("corrupt", "protobuf field number 0", { offset: start });
    at = afterTag;
    let varint: number | undefined;
    let valueStart = at;
    switch (wireType) {
      case WIRE_VARINT:
        [varint, at] = readVarint(bytes, at, to);
        break;
      case WIRE_FIXED64:
        at += 8;
        break;
      case WIRE_FIXED32:
        at += 4;
        break;
      case WIRE_LEN: {
        const [length, afterLength] = readVarint(bytes, at, to);
        valueStart = afterLength;
        at = afterLength + length;
        break;
      }
      default:
        throw new WeightbridgeError("corrupt", `protobuf wire type ${wireType} is not supported`, { offset: start });
    }
    if (at > to) throw new WeightbridgeError("truncated", `protobuf field ${field} runs past the end of its message`, { offset: start });
    yield varint === undefined ? { field, wireType, start, end: at, valueStart } : { field, wireType, start, end: at, valueStart, varint };
  }
}

/** Bytes of a varint. */
export function varintBytes(value: number): Uint8Array {
  const out: number[] = [];
  pushVarint(out, value);
  return Uint8Array.from(out);
}

/** Appends the bytes of a varint to `out` (for messages built byte by byte). */
export function pushVarint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new WeightbridgeError("usage", `cannot encode ${value} as a varint`);
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** A complete length-delimited field: tag, length, payload. */
export function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const prefix = lengthPrefix(field, payload.byteLength);
  const out = new Uint8Array(prefix.byteLength + payload.byteLength);
  out.set(prefix, 0);
  out.set(payload, prefix.byteLength);
  return out;
}

/** Tag + length prefix of a length-delimited field whose payload is `length` bytes. */
export function lengthPrefix(field: number, length: number): Uint8Array {
  const tag = varintBytes(field * 8 + WIRE_LEN);
  const len = varintBytes(length);
  const out = new Uint8Array(tag.byteLength + len.byteLength);
  out.set(tag, 0);
  out.set(len, tag.byteLength);
  return out;
}
