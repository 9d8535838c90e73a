/** Reading a Blob (the page's picked files) through blobSource. */
import { describe, expect, it } from "vitest";
import { blobSource } from "../../src/io/source.js";

describe("blobSource", () => {
  const bytes = new Uint8Array((9 << 20) + 13);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = (i * 7 + (i >> 12)) & 0xff;
  const source = blobSource(new Blob([bytes]), "picked.bin");

  it("readInto fills a target spanning several of its read pieces with the bytes at the offset", async () => {
    const offset = 12345;
    const target = new Uint8Array(bytes.length - offset - 5);
    await source.readInto!(offset, target);
    expect(Buffer.from(target).equals(Buffer.from(bytes.subarray(offset, offset + target.length)))).toBe(true);
    const empty = new Uint8Array(0);
    await source.readInto!(bytes.length, empty);
  });

  it("readInto past the end is a truncated error naming the file and offset, like read", async () => {
    await expect(source.readInto!(bytes.length - 4, new Uint8Array(8))).rejects.toThrow(/needs 8 bytes at offset 9437193 .*9437197 bytes long/);
    await expect(source.read(bytes.length - 4, 8)).rejects.toThrow(/needs 8 bytes at offset/);
  });
});
