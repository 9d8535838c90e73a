import { describe, expect, it } from "vitest";
import { Buffer } from "node:buffer";
import { byteDifference } from "./bytes.js";
import { randomBytes } from "./random.js";

describe("byte comparisons in tests", () => {
  it("name the first differing byte offset of a large buffer", () => {
    const want = randomBytes(9_437_184, 3);
    const got = want.slice();
    got[7_000_001] ^= 1;
    expect(byteDifference(got, want)).toMatch(/first difference at byte offset 7000001:/);
    expect(() => expect(got).toEqualBytes(want)).toThrow(/byte offset 7000001/);
    expect(got.subarray(0, 7_000_001)).toEqualBytes(want.subarray(0, 7_000_001));
  });

  it("tell a prefix, an element type and a length apart", () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    expect(byteDifference(a.subarray(0, 2), a)).toMatch(/2 bytes, expected 4: the shorter one is a prefix/);
    expect(byteDifference(new Float32Array(a.buffer), new Int32Array(a.buffer))).toMatch(/Float32Array where a Int32Array/);
    expect(byteDifference(Buffer.from(a), a)).toBeUndefined(); // a Buffer is a Uint8Array, as for toEqual
    expect(() => expect([1, 2]).toEqualBytes(a)).toThrow(/compares typed arrays: got object and Uint8Array/);
  });

  it("make toEqual on typed arrays, nested ones too, a memcmp", () => {
    const big = randomBytes(9_437_184, 5);
    expect({ name: "w", bytes: big }).toEqual({ name: "w", bytes: big.slice() });
    const other = big.slice();
    other[9_437_183] ^= 0x80;
    expect({ bytes: other }).not.toEqual({ bytes: big });
  });
});
