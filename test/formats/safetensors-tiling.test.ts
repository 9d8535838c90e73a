import { describe, expect, it } from "vitest";
import { read } from "../../src/index.js";

// A safetensors header is checked as a whole, as the format's reference loader does: the tensors'
// byte ranges, in offset order, start at 0, meet end to end (no gap, no overlap) and end at the
// end of the file. Header entries may come in any order.

function file(entries: Record<string, [number, number]>, dataBytes: number): Uint8Array {
  const header = Object.fromEntries(
    Object.entries(entries).map(([name, [begin, end]]) => [name, { dtype: "U8", shape: [end - begin], data_offsets: [begin, end] }]),
  );
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes).fill(7, 8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe("safetensors offsets tile the data", () => {
  it("accepts ranges that meet end to end, in any header order, empty tensors included", async () => {
    const checkpoint = await read(file({ c: [6, 10], a: [0, 4], empty: [4, 4], b: [4, 6], last: [10, 10] }, 10));
    expect(checkpoint.tensors.map((t) => [t.name, t.shape[0]])).toEqual([
      ["a", 4],
      ["empty", 0],
      ["b", 2],
      ["c", 4],
      ["last", 0],
    ]);
  });

  it("refuses a gap before the first tensor", async () => {
    await expect(read(file({ a: [2, 6] }, 6))).rejects.toThrow(/\[2, 6\] leave data bytes 0\.\.2 unused before the first tensor/);
  });

  it("refuses a gap between tensors, naming both", async () => {
    await expect(read(file({ a: [0, 4], b: [5, 8] }, 8))).rejects.toMatchObject({
      code: "corrupt",
      message: expect.stringMatching(/leave data bytes 4\.\.5 unused after 'a'/),
      location: { tensor: "b" },
    });
  });

  it("refuses overlapping tensors", async () => {
    await expect(read(file({ a: [0, 4], b: [2, 6] }, 6))).rejects.toMatchObject({
      code: "corrupt",
      message: expect.stringMatching(/\[2, 6\] overlap 'a', which ends at 4/),
      location: { tensor: "b" },
    });
  });

  it("refuses bytes after the last tensor, and data with no tensors", async () => {
    await expect(read(file({ a: [0, 4] }, 6))).rejects.toThrow(/ends at data byte 4, but the file has 6 data bytes \(the last 2 belong to no tensor\)/);
    await expect(read(file({}, 3), { format: "safetensors" })).rejects.toThrow(/ends at data byte 0, but the file has 3 data bytes/);
  });
});

describe("the header is read entry by entry (10^6 tensors never become one parsed object)", () => {
  const raw = (text: string, dataBytes: number): Uint8Array => {
    const json = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + json.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const entry = (begin: number, end: number) => `{"dtype":"U8","shape":[${end - begin}],"data_offsets":[${begin},${end}]}`;

  it("refuses a tensor named twice (JSON.parse kept the last; the first one's bytes would be unused)", async () => {
    await expect(read(raw(`{"a":${entry(0, 2)},"a":${entry(2, 4)}}`, 4))).rejects.toMatchObject({
      code: "corrupt",
      message: expect.stringMatching(/names tensor 'a' twice/),
    });
  });

  it("takes whitespace, escaped names and nested metadata as JSON.parse does, and refuses what it refuses", async () => {
    const text = `{\n "__metadata__" : {"format": "pt"} ,\t"a\\u002eb\\"c" : ${entry(0, 2)} , "d}" : ${entry(2, 3)} }  `;
    const checkpoint = await read(raw(text, 3));
    expect(checkpoint.tensors.map((t) => t.name)).toEqual(['a.b"c', "d}"]);
    for (const bad of [`{"a":${entry(0, 1)},}`, `{"a":${entry(0, 1)}} x`, `{"a" ${entry(0, 1)}}`, `{"a":${entry(0, 1)}`]) {
      await expect(read(raw(bad, 1))).rejects.toMatchObject({ code: "corrupt" });
    }
  });
});
