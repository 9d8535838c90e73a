import { describe, expect, test } from "vitest";
import { WeightbridgeError } from "../../src/errors.js";
import { PickleDict, PickleObject, PickleSet, PickleTuple, PyByteArray, PyFloat, unpickle, unpickleDetailed } from "../../src/pickle/index.js";
import { b, u32, u64 } from "./bytes.js";

function error(bytes: Uint8Array): WeightbridgeError {
  try {
    unpickle(bytes, { name: "x.pkl" });
  } catch (e) {
    expect(e).toBeInstanceOf(WeightbridgeError);
    return e as WeightbridgeError;
  }
  throw new Error("expected a WeightbridgeError");
}

describe("protocol 0 text opcodes", () => {
  test("INT, LONG, FLOAT, bools", () => {
    expect(unpickle(b("I42\n."))).toBe(42);
    expect(unpickle(b("I-7\n."))).toBe(-7);
    expect(unpickle(b("I01\n."))).toBe(true);
    expect(unpickle(b("I00\n."))).toBe(false);
    expect(unpickle(b("L123456789012345678901234567890L\n."))).toBe(123456789012345678901234567890n);
    expect(unpickle(b("L5\n."))).toBe(5);
    expect(unpickle(b("F1.5\n."))).toBe(1.5);
    expect(unpickle(b("F-inf\n."))).toBe(-Infinity);
    expect(Number.isNaN(unpickle(b("Fnan\n.")))).toBe(true);
    expect(unpickle(b("F2.0\n."), { preserveFloats: true })).toEqual(new PyFloat(2));
  });

  test("STRING (py2 str literal) and UNICODE (raw-unicode-escape)", () => {
    expect(unpickle(b("S'a\\'b\\n\\x41\\101'\n."))).toBe("a'b\nAA");
    expect(unpickle(b('S"q"\n.'), { py2Strings: "bytes" })).toEqual(b("q"));
    expect(unpickle(b("S'\xe9'\n.")), "latin-1 by default").toBe("é");
    expect(unpickle(b("Va\\u1234\\U0001f600\\\\u0041\n."))).toBe("a\u1234\u{1f600}\\\\u0041");
  });

  test("LIST, DICT, TUPLE, APPEND, SETITEM, PUT/GET, POP, POP_MARK, DUP", () => {
    expect(unpickle(b("(lp0\nI1\naI2\nag0\na."))).toEqual([1, 2, expect.anything()]);
    const d = unpickle(b("(dp0\nVk\nI1\nsI0\nVzero\ns.")) as PickleDict;
    expect([...d]).toEqual([
      ["k", 1],
      [0, "zero"],
    ]);
    expect(unpickle(b("(I1\nI2\nt."))).toEqual(new PickleTuple([1, 2]));
    expect(unpickle(b("I1\nI2\n0."))).toBe(1);
    expect(unpickle(b("I1\n(I2\nI3\n1."))).toBe(1);
    expect(unpickle(b("(I9\n2t."))).toEqual(new PickleTuple([9, 9]));
  });

  test("PERSID, INST and OBJ build stubs; copyreg._reconstructor", () => {
    const loaded: unknown[] = [];
    const v = unpickle(b("Pkey7\n."), { persistentLoad: (pid) => (loaded.push(pid), "data") });
    expect(v).toBe("data");
    expect(loaded).toEqual(["key7"]);
    // INST and OBJ call the class: dangerous unless tolerated, and then only recorded.
    expect(() => unpickle(b("(I1\nimymod\nThing\n(dVa\nI2\nsb."))).toThrow(/mymod\.Thing \(INST at byte 4\)/);
    const inst = unpickle(b("(I1\nimymod\nThing\n(dVa\nI2\nsb."), { refuseDangerous: false }) as PickleObject;
    expect(inst).toMatchObject({ module: "mymod", name: "Thing", args: [1], origin: "inst" });
    expect(inst.attr("a")).toBe(2);
    const obj = unpickle(b("(cmymod\nThing\nI3\no."), { refuseDangerous: false }) as PickleObject;
    expect(obj).toMatchObject({ module: "mymod", name: "Thing", args: [3], origin: "obj" });
    const r = unpickle(b("ccopy_reg\n_reconstructor\n(c__main__\nNet\nc__builtin__\nobject\nNtR(dVx\nI1\nsb.")) as PickleObject;
    expect(r.qualifiedName).toBe("__main__.Net");
    expect(r.attr("x")).toBe(1);
  });
});

describe("binary opcodes", () => {
  test("integers: BININT, BININT1, BININT2, LONG1, LONG4", () => {
    expect(unpickle(b(0x80, 2, "J", 0xff, 0xff, 0xff, 0xff, "."))).toBe(-1);
    expect(unpickle(b("K", 200, "."))).toBe(200);
    expect(unpickle(b("M", 0x34, 0x12, "."))).toBe(0x1234);
    expect(unpickle(b(0x8a, 0, "."))).toBe(0);
    expect(unpickle(b(0x8a, 5, 0, 0, 0, 0x80, 0, "."))).toBe(2 ** 31);
    expect(unpickle(b(0x8a, 1, 0xff, "."))).toBe(-1);
    expect(unpickle(b(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, "."))).toBe(2n ** 64n);
    expect(unpickle(b(0x8b, u32(2), 0x00, 0x80, "."))).toBe(-32768);
  });

  test("BINFLOAT is big-endian", () => {
    expect(unpickle(b("G", 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, "."))).toBe(1.5);
  });

  test("strings and bytes of every width", () => {
    expect(unpickle(b("X", u32(2), 0xc3, 0xa9, "."))).toBe("é");
    expect(unpickle(b(0x8c, 1, "a", "."))).toBe("a");
    expect(unpickle(b(0x8d, u64(1), "b", "."))).toBe("b");
    expect(unpickle(b("X", u32(3), 0xed, 0xa0, 0x80, "."))).toBe("\ud800"); // surrogatepass
    expect(unpickle(b("T", u32(2), "hi", "."))).toBe("hi");
    expect(unpickle(b("U", 2, "hi", "."))).toBe("hi");
    expect(unpickle(b("B", u32(2), 1, 2, "."))).toEqual(new Uint8Array([1, 2]));
    expect(unpickle(b("C", 1, 9, "."))).toEqual(new Uint8Array([9]));
    expect(unpickle(b(0x8e, u64(1), 7, "."))).toEqual(new Uint8Array([7]));
    expect(unpickle(b(0x96, u64(2), 1, 2, "."))).toEqual(new PyByteArray(new Uint8Array([1, 2])));
  });

  test("containers: EMPTY_*, TUPLE1-3, APPENDS, SETITEMS, sets, FROZENSET", () => {
    expect(unpickle(b(")."))).toEqual(new PickleTuple([]));
    expect(unpickle(b("K", 1, "K", 2, "K", 3, 0x87, "."))).toEqual(new PickleTuple([1, 2, 3]));
    expect(unpickle(b("](K", 1, "K", 2, "e."))).toEqual([1, 2]);
    const d = unpickle(b("}(K", 1, "K", 2, "K", 3, "K", 4, "u.")) as PickleDict;
    expect([...d]).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(unpickle(b(0x8f, "(K", 1, "K", 2, 0x90, "."))).toEqual(new PickleSet([1, 2]));
    expect(unpickle(b("(K", 1, 0x91, "."))).toEqual(new PickleSet([1], true));
  });

  test("memo: BINPUT/BINGET, LONG_BINPUT/LONG_BINGET, MEMOIZE", () => {
    const v = unpickle(b("]q", 3, "h", 3, "a.")) as unknown[];
    expect(v[0]).toBe(v);
    expect(unpickle(b("K", 5, "r", u32(1000), "0j", u32(1000), "."))).toBe(5);
    expect(unpickle(b("K", 6, 0x94, "0h", 0, "."))).toBe(6);
  });

  test("FRAME, STACK_GLOBAL, NEWOBJ, NEWOBJ_EX, BUILD with slots", () => {
    const p = b(0x80, 4, 0x95, u64(28), 0x8c, 8, "__main__", 0x8c, 3, "Net", 0x93, ")", 0x81, "}", 0x8c, 1, "a", "K", 1, "s", "N", 0x86, "b", ".");
    const v = unpickle(p) as PickleObject;
    expect(v).toMatchObject({ module: "__main__", name: "Net", origin: "newobj" });
    expect(v.attr("a")).toBe(1);
    const ex = unpickle(b(0x8c, 1, "m", 0x8c, 1, "C", 0x93, "K", 1, 0x85, "}", 0x8c, 1, "k", "K", 2, "s", 0x92, ".")) as PickleObject;
    expect(ex.args).toEqual([1]);
    expect([...ex.kwargs!]).toEqual([["k", 2]]);
    const slots = unpickle(b("cm\nC\n)", 0x81, "N}", 0x8c, 1, "s", "K", 3, "s", 0x86, "b.")) as PickleObject;
    expect(slots.attr("s")).toBe(3);
  });

  test("__builtin__ maps to builtins; set/frozenset/bytearray/complex/_codecs.encode builders", () => {
    expect(unpickle(b("c__builtin__\nset\n]K", 1, "a", 0x85, "R."))).toEqual(new PickleSet([1]));
    expect(unpickle(b("c_codecs\nencode\nX", u32(2), 0xc3, 0xbf, "X", u32(6), "latin1", 0x86, "R."))).toEqual(new Uint8Array([0xff]));
    const { globals } = unpickleDetailed(b("c__builtin__\nfrozenset\n]", 0x85, "R."));
    expect(globals[0]).toMatchObject({ module: "builtins", name: "frozenset", opcode: "GLOBAL", offset: 0, status: "known" });
  });
});

describe("malformed input", () => {
  test("unknown opcode is 'corrupt' with its byte offset", () => {
    const e = error(b(0x80, 2, 0xff));
    expect(e.code).toBe("corrupt");
    expect(e.location).toEqual({ file: "x.pkl", offset: 2 });
    expect(e.message).toContain("byte 2");
  });

  test("lengths past the end are 'truncated' before anything is allocated", () => {
    expect(error(b("X", u32(0xffffffff), "ab")).code).toBe("truncated");
    expect(error(b(0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)).code).toBe("truncated");
    expect(error(b(0x80, 4, 0x95, u64(100), "N.")).code).toBe("truncated");
    expect(error(b("K", 1)).code).toBe("truncated");
    expect(error(b("I12")).code).toBe("truncated");
  });

  test("stack and memo misuse is 'corrupt'", () => {
    for (const bad of [
      b("."),
      b("a."),
      b("(K", 1, "a."),
      b("h", 9, "."),
      b("K", 1, "K", 1, "s."),
      b("t."),
      b("K", 1, "K", 2, "b."),
      b("K", 1, ")R."),
      b("N", 0x85, "K", 1, "u."),
      b("X", u32(1), 0xff, "."),
    ]) {
      expect(error(bad).code, Buffer.from(bad).toString("hex")).toBe("corrupt");
    }
  });

  test("EXT codes are refused as unsafe (an unnamed callable), out-of-band buffers as unsupported", () => {
    expect(error(b(0x82, 1, ".")).code).toBe("unsafe-pickle");
    expect(error(b(0x97, ".")).code).toBe("unsupported");
    expect(error(b(0x80, 6, "N.")).code).toBe("unsupported");
  });
});
