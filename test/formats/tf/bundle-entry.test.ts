import { describe, expect, it } from "vitest";
import { compareEntryKeys } from "../../../src/formats/tensorflow/bundle-write.js";
import { encodeBundleEntry, encodeProto } from "../../../src/formats/tensorflow/protos.js";
import { compareKeys } from "../../../src/formats/tensorflow/table-write.js";
import { utf8 } from "../../../src/util/bytes.js";

// The bundle writer encodes its entries by hand (protobufjs' message objects cost ~0.5 KiB of
// garbage per entry): these must be the bytes protobufjs writes for the same fields.

/** The fields as the writer gave them to protobufjs before: zero offset and size left out. */
function viaProtobufjs(dtype: number | undefined, dims: number[], offset: number, size: number, crc32c: number): Uint8Array {
  const out: Record<string, unknown> = { dtype, shape: { dim: dims.map((d) => ({ size: d })) } };
  if (offset) out.offset = offset;
  if (size) out.size = size;
  out.crc32c = crc32c;
  return encodeProto("BundleEntryProto", out);
}

describe("hand-encoded BundleEntryProto", () => {
  it("is protobufjs' encoding for dtypes, 0-d/empty/large dims, offsets and sizes up to 2^40, every crc bit", () => {
    let cases = 0;
    for (const dtype of [undefined, 0, 1, 9, 19, 200])
      for (const dims of [[], [0], [3, 2], [2 ** 33, 1, 127, 128, 16384]])
        for (const offset of [0, 1, 300, 2 ** 40 + 7])
          for (const size of [0, 8, 2 ** 31])
            for (const crc of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678]) {
              const mine = Buffer.from(encodeBundleEntry(dtype, dims, offset, size, crc));
              expect(mine.equals(viaProtobufjs(dtype, dims, offset, size, crc)), `${dtype} [${dims}] ${offset} ${size} ${crc}`).toBe(true);
              cases++;
            }
    expect(cases).toBe(6 * 4 * 4 * 3 * 6);
  });
});

describe("ordering keys given as names", () => {
  it("is the byte order of their UTF-8 (surrogate pairs after U+E000–U+FFFF, prefixes first, lone surrogates)", () => {
    const names = ["a", "ab", "a/b", "b", "", "é", "\uffff", "\ue000", "😀", "😀a", "a😀", "a\ud800", "a\udfff", "\ud83d", "z\u0000", "z"];
    let pairs = 0;
    for (const a of names)
      for (const b of names) {
        expect(Math.sign(compareEntryKeys(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Math.sign(compareKeys(utf8(a), utf8(b))));
        pairs++;
      }
    expect(pairs).toBe(names.length ** 2);
  });
});
