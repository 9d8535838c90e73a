import { WeightbridgeError } from "../errors.js";

/**
 * Decompresses one raw Snappy block (no framing): a varint of the uncompressed length, then
 * literals and back-references (format_description.txt of google/snappy). LevelDB-style tables
 * may store blocks this way (a TensorFlow bundle index written with snappy enabled).
 */
export function snappyDecompress(input: Uint8Array, file?: string): Uint8Array {
  const fail = (message: string, offset: number): never => {
    throw new WeightbridgeError("corrupt", `snappy block: ${message}`, { file, offset });
  };
  let at = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= input.length || shift > 28) fail("bad uncompressed length", at);
    const b = input[at++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > 1 << 30) fail(`declares ${length} bytes`, 0);
  const out = new Uint8Array(length);
  let op = 0;
  while (at < input.length) {
    const tag = input[at++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (at + bytes > input.length) fail("literal length runs past the end", at);
        n = 0;
        for (let i = 0; i < bytes; i++) n += input[at + i]! * 2 ** (8 * i);
        at += bytes;
      }
      n += 1;
      if (at + n > input.length || op + n > length) fail("literal runs past the end", at);
      out.set(input.subarray(at, at + n), op);
      at += n;
      op += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      if (at >= input.length) fail("copy runs past the end", at);
      n = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[at++]!;
    } else if (kind === 2) {
      if (at + 2 > input.length) fail("copy runs past the end", at);
      n = (tag >>> 2) + 1;
      offset = input[at]! | (input[at + 1]! << 8);
      at += 2;
    } else {
      if (at + 4 > input.length) fail("copy runs past the end", at);
      n = (tag >>> 2) + 1;
      offset = (input[at]! | (input[at + 1]! << 8) | (input[at + 2]! << 16) | (input[at + 3]! << 24)) >>> 0;
      at += 4;
    }
    if (offset === 0 || offset > op || op + n > length) fail("back-reference outside the output", at);
    for (let i = 0; i < n; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== length) fail(`produced ${op} of ${length} bytes`, at);
  return out;
}
