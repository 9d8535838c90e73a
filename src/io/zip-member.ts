import type { ByteSource } from "./source.js";
import { WeightbridgeError } from "../errors.js";

/** A STORED zip member as a source of its own: positioned reads shifted by the member's offset. */
export function zipMemberSource(parent: ByteSource, offset: number, size: number, name: string): ByteSource {
  if (!(offset + size <= parent.size)) {
    throw new WeightbridgeError("truncated", `member of ${size} bytes at ${offset} runs past the end of the archive`, { file: parent.name });
  }
  const check = (at: number, length: number): void => {
    if (!(at >= 0 && length >= 0 && at + length <= size)) {
      throw new WeightbridgeError("truncated", `needs ${length} bytes at offset ${at} but the member is ${size} bytes long`, { file: name, offset: at });
    }
  };
  const source: ByteSource = {
    name,
    size,
    read(at, length) {
      check(at, length);
      return parent.read(offset + at, length);
    },
    async close() {},
  };
  if (parent.readSync) {
    const readSync = parent.readSync.bind(parent);
    source.readSync = (at, length) => {
      check(at, length);
      return readSync(offset + at, length);
    };
  }
  return source;
}
