import { u16, u32 } from "../util/bytes.js";

/**
 * Checks the HDF5 global heap collections ("GCOL", where variable-length strings live) that
 * appear in bytes libhdf5 is about to parse. The libhdf5 inside h5wasm loops forever on a
 * collection whose free-space object has size 0 (or whose sizes wrap its 32-bit pointers), and
 * a loop inside wasm cannot be interrupted, so such bytes are refused before it sees them.
 * Returns what is wrong, or undefined.
 */
export function globalHeapProblem(bytes: Uint8Array): string | undefined {
  for (let at = indexOfGcol(bytes, 0); at >= 0; at = indexOfGcol(bytes, at + 4)) {
    // Signature, version 1, three reserved zero bytes, then the collection size (8 bytes).
    if (at + 16 > bytes.length || bytes[at + 4] !== 1 || bytes[at + 5] !== 0 || bytes[at + 6] !== 0 || bytes[at + 7] !== 0) continue;
    const size = u32(bytes, at + 8) + u32(bytes, at + 12) * 2 ** 32;
    if (size < 4096) return `HDF5 global heap collection at byte ${at} is ${size} bytes (at least 4096 expected)`;
    let p = 16;
    while (p + 16 <= size && at + p + 16 <= bytes.length) {
      const index = u16(bytes, at + p);
      const objectSize = u32(bytes, at + p + 8) + u32(bytes, at + p + 12) * 2 ** 32;
      const need = index > 0 ? 16 + Math.ceil(objectSize / 8) * 8 : objectSize;
      if (need === 0 || p + need > size) {
        return `HDF5 global heap collection at byte ${at}: object ${index} of ${objectSize} bytes does not fit the ${size}-byte collection`;
      }
      p += need;
    }
  }
  return undefined;
}

function indexOfGcol(bytes: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(0x47, from); i >= 0 && i + 4 <= bytes.length; i = bytes.indexOf(0x47, i + 1)) {
    if (bytes[i + 1] === 0x43 && bytes[i + 2] === 0x4f && bytes[i + 3] === 0x4c) return i;
  }
  return -1;
}
