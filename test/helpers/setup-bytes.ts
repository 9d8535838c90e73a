import { expect } from "vitest";
import { byteDifference, isByteComparable } from "./bytes.js";

// Every test file: `expect(bytes).toEqualBytes(want)` (Buffer.equals, the first differing offset
// on failure), and toEqual on typed arrays anywhere inside a value compared by memcmp instead of
// vitest's element-by-element walk, so a big array left in a toEqual cannot stall the suite.

expect.extend({
  toEqualBytes(received: unknown, expected: unknown) {
    if (!isByteComparable(received) || !isByteComparable(expected)) {
      const what = (v: unknown) => (isByteComparable(v) ? v.constructor.name : typeof v);
      return { pass: false, message: () => `toEqualBytes compares typed arrays: got ${what(received)} and ${what(expected)}` };
    }
    const difference = byteDifference(received, expected);
    return {
      pass: difference === undefined,
      message: () => (difference === undefined ? `expected different bytes, got the same ${received.byteLength}` : difference),
    };
  },
});

expect.addEqualityTesters([
  function typedArrayBytes(a: unknown, b: unknown): boolean | undefined {
    if (!isByteComparable(a) || !isByteComparable(b)) return undefined;
    return byteDifference(a, b) === undefined;
  },
]);

declare module "vitest" {
  interface Assertion<T> {
    toEqualBytes(expected: ArrayBufferView): T;
  }
  interface AsymmetricMatchersContaining {
    toEqualBytes(expected: ArrayBufferView): unknown;
  }
}
