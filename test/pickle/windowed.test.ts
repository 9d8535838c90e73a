import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { WeightbridgeError } from "../../src/errors.js";
import { memorySource } from "../../src/io/source.js";
import {
  LazyBytes,
  NumpyArray,
  PickleObject,
  PyByteArray,
  dict,
  numpyArray,
  pickle,
  sourceInput,
  unpickle,
  unpickleDetailed,
  type PickleInput,
  type PickleValue,
} from "../../src/pickle/index.js";
import { b, u32, u64 } from "./bytes.js";
import { fixture } from "../helpers/fixtures.js";

const fixtures = readdirSync(fixture("pickle")).filter((f) => f.endsWith(".pkl"));

/** Input that is not in memory as far as the cursor knows (no `whole`), counting what is read. */
function windowed(bytes: Uint8Array): PickleInput & { bytesRead: number; calls: number } {
  const input = {
    size: bytes.length,
    bytesRead: 0,
    calls: 0,
    bytesAt(offset: number, n: number): Uint8Array {
      expect(offset >= 0 && offset + n <= bytes.length, `read ${offset}+${n} outside ${bytes.length}`).toBe(true);
      input.bytesRead += n;
      input.calls++;
      return bytes.slice(offset, offset + n);
    },
  };
  return input;
}

function outcome(run: () => PickleValue): { value?: PickleValue; error?: string } {
  try {
    return { value: run() };
  } catch (e) {
    if (!(e instanceof WeightbridgeError)) throw e;
    return { error: `${e.code}: ${e.message} @${e.offset}` };
  }
}

/** Every opcode that reads a length, a line or a fixed-size argument, in one pickle (no fixture has them all). */
const LENGTHS = b(
  0x80,
  4,
  0x95,
  ...u64(0), // PROTO 4, FRAME 0
  "(", // MARK
  0x8a,
  9,
  [1, 2, 3, 4, 5, 6, 7, 8, 0x80], // LONG1
  0x8b,
  ...u32(3),
  [0xff, 0xff, 0x7f], // LONG4
  "J",
  ...u32(0xfffffff0),
  "K",
  7,
  "M",
  ...[0x34, 0x12], // BININT, BININT1, BININT2
  "G",
  [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18], // BINFLOAT
  "I123\n",
  "L-99L\n",
  "F2.5\n", // INT, LONG, FLOAT lines
  "X",
  ...u32(5),
  "hello", // BINUNICODE
  0x8c,
  3,
  "abc", // SHORT_BINUNICODE
  0x8d,
  ...u64(4),
  "wxyz", // BINUNICODE8
  "Vraw\\u0041\n", // UNICODE
  "S'lit\\n'\n", // STRING
  "T",
  ...u32(6),
  "binstr",
  "U",
  2,
  "sb", // BINSTRING, SHORT_BINSTRING
  "B",
  ...u32(10),
  "0123456789",
  "C",
  3,
  "xyz", // BINBYTES, SHORT_BINBYTES
  0x8e,
  ...u64(12),
  "twelve bytes", // BINBYTES8
  0x96,
  ...u64(4),
  [1, 2, 3, 4], // BYTEARRAY8
  "p7\n",
  "g7\n", // PUT, GET lines
  "r",
  ...u32(300),
  "j",
  ...u32(300), // LONG_BINPUT, LONG_BINGET
  "q",
  9,
  "h",
  9, // BINPUT, BINGET
  "2",
  "0", // DUP, POP
  "(",
  "N",
  "1", // MARK NONE POP_MARK
  "Pplain-id\n", // PERSID
  "c",
  "collections\nOrderedDict\n",
  ")",
  "R", // GLOBAL + REDUCE
  "(",
  "imod.sub\nKlass\n", // INST
  "(",
  "c",
  "mod\nOther\n",
  "K",
  1,
  "o", // OBJ
  "l", // LIST
  ".",
);

describe("windowed cursor: same values and errors as in-memory input", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["every length/line opcode", LENGTHS],
    ...fixtures.map((f): [string, Uint8Array] => [f, new Uint8Array(readFileSync(fixture("pickle", f)))]),
  ];

  for (const [name, bytes] of cases) {
    test(name, () => {
      const expected = outcome(() => unpickle(bytes, { name, preserveFloats: true, refuseDangerous: false }));
      expect(expected.error).toBeUndefined();
      for (const windowBytes of [1, 2, 3, 5, 8, 13, 64, 4096]) {
        const input = windowed(bytes);
        const got = outcome(() => unpickle(input, { name, preserveFloats: true, refuseDangerous: false, windowBytes }));
        expect(got, `window ${windowBytes}`).toEqual(expected);
      }
    });
  }

  test("every truncation ends in the same error at every window size", () => {
    for (let cut = 0; cut < LENGTHS.length; cut++) {
      const prefix = LENGTHS.subarray(0, cut);
      const expected = outcome(() => unpickle(prefix, { name: "cut.pkl", refuseDangerous: false }));
      expect(expected.error, `cut at ${cut}`).toMatch(/^truncated: /);
      for (const windowBytes of [1, 3, 7]) {
        const got = outcome(() => unpickle(windowed(prefix), { name: "cut.pkl", refuseDangerous: false, windowBytes }));
        expect(got.error, `cut at ${cut}, window ${windowBytes}`).toBe(expected.error);
      }
    }
  });

  test("a lying length is refused before anything is read or allocated", () => {
    const lying = b(0x80, 4, 0x8e, [0, 0, 0, 0, 0, 1, 0, 0], "abc", "."); // 2^40 bytes
    const input = windowed(lying);
    const got = outcome(() => unpickle(input, { windowBytes: 4 }));
    expect(got.error).toMatch(/^truncated: pickle ends inside BINBYTES8 at byte 2 \(needs 1099511627776 bytes/);
    expect(input.bytesRead).toBeLessThan(lying.length * 2);
  });

  test("the start offset and end work as with bytes (pickles back to back)", () => {
    const two = new Uint8Array([...pickle([1, "a"], { protocol: 2 }), ...pickle(dict([["k", 2]]), { protocol: 4 })]);
    const first = unpickleDetailed(windowed(two), { windowBytes: 3 });
    const second = unpickleDetailed(windowed(two), { windowBytes: 3, start: first.end });
    expect(first.value).toEqual(unpickleDetailed(two).value);
    expect(second.end).toBe(two.length);
    expect(second.value).toEqual(unpickleDetailed(two, { start: first.end }).value);
  });

  test("bytes handed out by a window are copies, so they do not pin the window", () => {
    const bytes = b(0x80, 3, "B", ...u32(6), "abcdef", ".");
    const value = unpickle(windowed(bytes), { windowBytes: 64 }) as Uint8Array;
    expect(Buffer.from(value).toString()).toBe("abcdef");
    expect(value.buffer.byteLength).toBe(6);
    const inMemory = unpickle(bytes) as Uint8Array;
    expect(inMemory.buffer).toBe(bytes.buffer); // in-memory input: a view, as before
  });
});

describe("lazy bytes", () => {
  const payload = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);

  function check(lazy: PickleValue, bytes: Uint8Array, expected: Uint8Array, bytearray = false): void {
    expect(lazy).toBeInstanceOf(LazyBytes);
    const l = lazy as LazyBytes;
    expect(l.length).toBe(expected.length);
    expect(l.bytearray).toBe(bytearray);
    expect(Buffer.from(bytes.subarray(l.offset, l.offset + l.length)).equals(Buffer.from(expected))).toBe(true);
  }

  test("BINBYTES, BINBYTES8 and BYTEARRAY8 over the threshold are ranges of the input, not read", () => {
    const bytes = b(
      0x80,
      4,
      "(",
      "B",
      ...u32(payload.length),
      payload,
      0x8e,
      ...u64(payload.length),
      payload,
      0x96,
      ...u64(payload.length),
      payload,
      "B",
      ...u32(300),
      payload.subarray(0, 300),
      "C",
      200,
      payload.subarray(0, 200),
      "l",
      ".",
    );
    for (const input of [bytes, windowed(bytes)]) {
      const [a, c, d, small, short] = unpickle(input, { lazyBytesOver: 1000, windowBytes: 16 }) as PickleValue[];
      check(a!, bytes, payload);
      check(c!, bytes, payload);
      check(d!, bytes, payload, true);
      expect(small).toEqualBytes(payload.subarray(0, 300));
      expect(short).toEqualBytes(payload.subarray(0, 200));
    }
    const counted = windowed(bytes);
    unpickle(counted, { lazyBytesOver: 1000, windowBytes: 16 });
    expect(counted.bytesRead).toBeLessThan(bytes.length - 3 * payload.length + 64);
    // Without the option nothing changes: bytes values and a bytearray.
    const eager = unpickle(windowed(bytes), { windowBytes: 16 }) as PickleValue[];
    expect(eager[0]).toEqualBytes(payload);
    expect(eager[2]).toBeInstanceOf(PyByteArray);
  });

  test("a numpy array records the range of its data (protocols 3, 4, 5 and a file source)", () => {
    const array = numpyArray("<f4", [25, 50], payload);
    for (const protocol of [3, 4] as const) {
      const bytes = pickle(array, { protocol });
      const a = unpickle(sourceInput(memorySource(bytes, "a.pkl")), { lazyBytesOver: 1024 }) as NumpyArray;
      expect(a).toBeInstanceOf(NumpyArray);
      expect(a.shape).toEqual([25, 50]);
      check(a.data!, bytes, payload);
    }
    // numpy's protocol-5 reduction: _frombuffer(bytearray, dtype, shape, order).
    const p5 = new Uint8Array(readFileSync(fixture("pickle", "numpy_p5.pkl")));
    const eager = unpickle(p5);
    const lazy = unpickle(p5, { lazyBytesOver: 16 });
    const arrays = (v: PickleValue): NumpyArray[] =>
      v instanceof NumpyArray ? [v] : Array.isArray(v) ? v.flatMap(arrays) : v instanceof Map ? [...v.values()].flatMap(arrays) : [];
    const pairs = arrays(eager).map((a, i) => [a, arrays(lazy)[i]!] as const);
    const big = pairs.filter(([a]) => a.data instanceof Uint8Array && a.data.length > 16);
    expect(big.length).toBeGreaterThan(0);
    for (const [a, l] of big) check(l.data!, p5, a.data as Uint8Array, l.data instanceof LazyBytes && l.data.bytearray);
  });

  test("consumers that need the bytes refuse a lazy payload clearly", () => {
    const bigBytes = b("B", ...u32(payload.length), payload);
    const callBytes = b(0x80, 4, "c", "builtins\nbytes\n", bigBytes, 0x85, "R", ".");
    const err = outcome(() => unpickle(callBytes, { lazyBytesOver: 100 }));
    expect(err.error).toMatch(/^unsupported: builtins\.bytes needs its 5000 bytes in memory, but they were left unread in the file/);
    expect(unpickle(callBytes)).toEqualBytes(payload);
    const lazy = unpickle(b(0x80, 4, bigBytes, "."), { lazyBytesOver: 100 });
    expect(() => pickle(lazy)).toThrow(/cannot pickle 5000 bytes that were left unread/);
    const obj = unpickle(b(0x80, 4, "c", "mod\nThing\n", "(", bigBytes, "t", "R", "."), { lazyBytesOver: 100, refuseDangerous: false });
    expect(obj).toBeInstanceOf(PickleObject);
    expect((obj as PickleObject).args[0]).toBeInstanceOf(LazyBytes);
  });
});
