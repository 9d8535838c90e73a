import { describe, expect, it } from "vitest";
import { read } from "../../../src/api/open.js";
import { crc32c, maskCrc32c } from "../../../src/util/crc32c.js";
import { utf8 } from "../../../src/util/bytes.js";
import { sliceKey } from "../../../src/formats/tensorflow/slices.js";
import { bundle, floats, shape } from "./bundle-builder.js";

// Bundle features no real fixture here has (partitioned variables, variant entries, big-endian
// headers), built entry by entry as TensorFlow lays them out (tensor_bundle.proto, OrderedCode
// slice keys), to check the reader's handling of each.

describe("bundle features built entry by entry", () => {
  it("a partitioned variable's slices are assembled into one tensor", async () => {
    const name = utf8("emb/weights");
    const halves = [{ extent: [{ start: 0, length: 2 }, {}] }, { extent: [{ start: 2, length: 1 }, {}] }];
    const path = bundle([
      { key: name, entry: { dtype: 1, shape: shape(3, 2), slices: halves } },
      {
        key: sliceKey(name, [
          { start: 0, length: 2 },
          { start: 0, length: -1 },
        ]),
        entry: { dtype: 1, shape: shape(2, 2) },
        bytes: floats(1, 2, 3, 4),
      },
      {
        key: sliceKey(name, [
          { start: 2, length: 1 },
          { start: 0, length: -1 },
        ]),
        entry: { dtype: 1, shape: shape(1, 2) },
        bytes: floats(5, 6),
      },
    ]);
    const checkpoint = await read(path);
    expect(checkpoint.tensors.map((t) => [t.name, t.shape])).toEqual([["emb/weights", [3, 2]]]);
    expect([...new Float32Array((await checkpoint.tensors[0]!.data.read()).slice().buffer)]).toEqual([1, 2, 3, 4, 5, 6]);
    await checkpoint.close();
  });

  it("slice keys follow OrderedCode (start 0 → 0x80, length -1 → 0x7f, 64 → two bytes)", () => {
    expect([...sliceKey(utf8("a"), [{ start: 0, length: -1 }])]).toEqual([0x00, 0x61, 0x00, 0x01, 0x01, 0x01, 0x80, 0x7f]);
    expect([...sliceKey(utf8("a"), [{ start: 64, length: 5 }])].slice(6)).toEqual([0xc0, 0x40, 0x85]);
  });

  it("variant and resource entries are skipped with a warning; strings go to meta", async () => {
    const text = utf8("hello");
    const lengths = Uint8Array.of(text.length);
    // String data: varint lengths, masked crc32c of the lengths (as uint32), then the bytes.
    const lengthCrc = maskCrc32c(crc32c(Uint8Array.of(text.length, 0, 0, 0)));
    const crcBytes = new Uint8Array(4);
    new DataView(crcBytes.buffer).setUint32(0, lengthCrc, true);
    const stringData = Uint8Array.from([...lengths, ...crcBytes, ...text]);
    const stringCrc = crc32c(text, crc32c(crcBytes, crc32c(Uint8Array.of(text.length, 0, 0, 0))));
    const path = bundle([
      { key: utf8("w"), entry: { dtype: 1, shape: shape(2) }, bytes: floats(1, 2) },
      { key: utf8("iterator"), entry: { dtype: 21, shape: shape() }, bytes: new Uint8Array(3) },
      { key: utf8("note"), entry: { dtype: 7, shape: shape() }, bytes: stringData, crc: stringCrc },
    ]);
    const checkpoint = await read(path);
    expect(checkpoint.tensors.map((t) => t.name)).toEqual(["w"]);
    expect(checkpoint.warnings?.join(" ")).toMatch(/skipped 1 entries .*DT_VARIANT/);
    expect(checkpoint.meta.tensorflow).toMatchObject({ strings: { note: "hello" }, skipped: ["iterator (DT_VARIANT)"] });
    await checkpoint.close();
  });

  it("a big-endian bundle is refused clearly", async () => {
    const path = bundle([{ key: utf8("w"), entry: { dtype: 1, shape: shape(1) }, bytes: floats(1) }], { num_shards: 1, endianness: 1 });
    await expect(read(path)).rejects.toThrow(/big-endian/);
  });
});
