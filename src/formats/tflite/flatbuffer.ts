import { ByteBuffer } from "flatbuffers";
import { WeightbridgeError } from "../../errors.js";

// The flatbuffers runtime trusts its input: a read past the end yields undefined bits that turn
// into zeros, so a truncated or hostile file would read as a plausible model. Every read the
// generated accessors make goes through these four methods, which refuse instead.

/** A read at `offset` (absolute in the file) past the bytes that were loaded. */
export class OutOfBounds extends Error {
  constructor(readonly offset: number) {
    super(`a FlatBuffer offset points past the end (byte ${offset})`);
  }
}

export class CheckedByteBuffer extends ByteBuffer {
  private check(offset: number, width: number): void {
    if (!(offset >= 0 && offset + width <= this.capacity())) throw new OutOfBounds(offset);
  }
  override readUint8(offset: number): number {
    this.check(offset, 1);
    return super.readUint8(offset);
  }
  override readUint16(offset: number): number {
    this.check(offset, 2);
    return super.readUint16(offset);
  }
  override readInt32(offset: number): number {
    this.check(offset, 4);
    return super.readInt32(offset);
  }
  override __string(offset: number): string {
    const start = offset + this.readInt32(offset);
    const length = this.readInt32(start);
    this.check(start + 4, length);
    return new TextDecoder().decode(this.bytes().subarray(start + 4, start + 4 + length));
  }
}

/** A vector's elements must lie inside the bytes (the accessors check only what they read one by one). */
export function checkedView(view: Uint8Array | null, bytes: Uint8Array): Uint8Array | null {
  if (view && view.byteOffset - bytes.byteOffset + view.byteLength > bytes.byteLength) throw new OutOfBounds(view.byteOffset - bytes.byteOffset);
  return view;
}

export const IDENTIFIER = "TFL3";

/** Does a file start like a TFLite model: a root offset, then `TFL3`? */
export function hasTfliteIdentifier(head: Uint8Array): boolean {
  return head.length >= 8 && String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!) === IDENTIFIER;
}

export function notTflite(file: string, head: Uint8Array): WeightbridgeError {
  const found = [...head.subarray(4, 8)].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
  return new WeightbridgeError("bad-magic", `not a TFLite model: bytes 4-7 are '${found}', not the FlatBuffer identifier '${IDENTIFIER}'`, { file, offset: 4 });
}
