// TFLite INT4 tensors pack two values per byte, the first element in the low nibble (TFLite's
// tensor_utils::UnpackDenseInt4IntoInt8); an odd count leaves the last high nibble unused. The
// IR has no 4-bit type, so they are read as int8 in [-8, 7] and packed again on re-weighting.

export function packedInt4Length(count: number): number {
  return Math.ceil(count / 2);
}

export function unpackInt4(packed: Uint8Array, count: number): Uint8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const byte = packed[i >> 1]!;
    const nibble = i & 1 ? byte >> 4 : byte & 0x0f;
    out[i] = (nibble << 28) >> 28;
  }
  return new Uint8Array(out.buffer);
}

/** Packs int8 values (which must lie in [-8, 7]) two to a byte; returns the index of the first that does not, or the bytes. */
export function packInt4(values: Int8Array): Uint8Array | { outOfRange: number } {
  const out = new Uint8Array(packedInt4Length(values.length));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < -8 || v > 7) return { outOfRange: i };
    out[i >> 1]! |= (v & 0x0f) << (i & 1 ? 4 : 0);
  }
  return out;
}
