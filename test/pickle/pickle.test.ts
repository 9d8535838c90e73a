import { describe, expect, test } from "vitest";
import { WeightbridgeError } from "../../src/errors.js";
import {
  DictStream,
  NumpyArray,
  PickleDict,
  PickleObject,
  PickleSet,
  PyFloat,
  TorchStorageRef,
  TorchTensorRef,
  callGlobal,
  dict,
  numpyArray,
  orderedDict,
  pickle,
  picklePausingTo,
  torchStorage,
  torchTensor,
  tuple,
  unpickle,
  unpickleDetailed,
  type PickleValue,
} from "../../src/pickle/index.js";
import { b, u32 } from "./bytes.js";
import { tagged } from "./tagged.js";

const hex = (u: Uint8Array) => Buffer.from(u).toString("hex");

function roundTrip(v: PickleValue, protocol: 2 | 3 | 4) {
  // The values include a call of __main__.Thing: dangerous, so read tolerating it (nothing runs either way).
  return unpickle(pickle(v, { protocol }), { preserveFloats: true, refuseDangerous: false });
}

describe("CPython's protocol-2 encoding choices", () => {
  test("ints pick BININT1/BININT2/BININT/LONG1 like CPython", () => {
    expect(hex(pickle(255))).toBe(hex(b(0x80, 2, "K", 255, ".")));
    expect(hex(pickle(256))).toBe(hex(b(0x80, 2, "M", 0, 1, ".")));
    expect(hex(pickle(65536))).toBe(hex(b(0x80, 2, "J", 0, 0, 1, 0, ".")));
    expect(hex(pickle(-1))).toBe(hex(b(0x80, 2, "J", 0xff, 0xff, 0xff, 0xff, ".")));
    expect(hex(pickle(2 ** 31))).toBe(hex(b(0x80, 2, 0x8a, 5, 0, 0, 0, 0x80, 0, ".")));
    expect(hex(pickle(-(2 ** 31) - 1))).toBe(hex(b(0x80, 2, 0x8a, 5, 0xff, 0xff, 0xff, 0x7f, 0xff, ".")));
    expect(hex(pickle(255n))).toBe(hex(pickle(255)));
    expect(hex(pickle(-(2n ** 63n)))).toBe(hex(b(0x80, 2, 0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80, ".")));
  });

  test("floats are big-endian BINFLOAT; integral numbers are ints unless PyFloat", () => {
    expect(hex(pickle(1.5))).toBe(hex(b(0x80, 2, "G", 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, ".")));
    expect(hex(pickle(new PyFloat(1)))).toBe(hex(b(0x80, 2, "G", 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, ".")));
  });

  test("containers are memoised and filled in batches of at most 1000", () => {
    expect(hex(pickle([1]))).toBe(hex(b(0x80, 2, "]q", 0, "K", 1, "a.")));
    expect(hex(pickle([1, 2]))).toBe(hex(b(0x80, 2, "]q", 0, "(K", 1, "K", 2, "e.")));
    const list = Array.from({ length: 2001 }, (_, i) => i % 200);
    const bytes = pickle(list);
    expect(bytes.filter((x) => x === 0x65).length).toBeGreaterThanOrEqual(2); // APPENDS
    expect(unpickle(bytes)).toEqual(list);
    const big = dict(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i] as const));
    const back = unpickle(pickle(big)) as PickleDict;
    expect([...back]).toEqual([...big]);
  });

  test("repeats use BINGET; indices past 255 switch to LONG_BINPUT/LONG_BINGET", () => {
    const shared = [7];
    expect(hex(pickle(tuple(shared, shared)))).toBe(hex(b(0x80, 2, "]q", 0, "K", 7, "ah", 0, 0x86, "q", 1, ".")));
    const strings = Array.from({ length: 300 }, (_, i) => `s${i}`);
    const bytes = pickle([...strings, "s299"]);
    expect(hex(bytes)).toContain(`72${hex(new Uint8Array(u32(256)))}`);
    expect(hex(bytes)).toContain(`6a${hex(new Uint8Array(u32(300)))}`);
  });

  test("OrderedDict as GLOBAL + EMPTY_TUPLE + REDUCE, attributes as a final BUILD", () => {
    const od = orderedDict([["a", 1]]);
    od.attributes = dict([["_metadata", orderedDict([["", dict([["version", 1]])]])]]);
    const bytes = pickle(od);
    expect(Buffer.from(bytes).toString("latin1").startsWith("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01")).toBe(true);
    expect(bytes[bytes.length - 2]).toBe(0x62);
    const back = unpickle(bytes) as PickleDict;
    expect(back.ordered).toBe(true);
    expect(tagged(back.attributes!)).toEqual(tagged(od.attributes));
  });

  test("bytes use _codecs.encode below protocol 3 and BINBYTES from 3", () => {
    expect(Buffer.from(pickle(new Uint8Array([0xff]))).toString("latin1")).toContain("c_codecs\nencode\n");
    expect(Buffer.from(pickle(new Uint8Array([]))).toString("latin1")).toContain("c__builtin__\nbytes\n");
    expect(hex(pickle(new Uint8Array([1]), { protocol: 3 }))).toBe(hex(b(0x80, 3, "C", 1, 1, "q", 0, ".")));
  });

  test("protocol 4 uses SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL and optional FRAME", () => {
    expect(hex(pickle("ab", { protocol: 4 }))).toBe(hex(b(0x80, 4, 0x8c, 2, "ab", 0x94, ".")));
    const g = pickle(orderedDict(), { protocol: 4 });
    expect(hex(g)).toBe(hex(b(0x80, 4, 0x8c, 11, "collections", 0x94, 0x8c, 11, "OrderedDict", 0x94, 0x93, 0x94, ")R", 0x94, ".")));
    const framed = pickle([1, 2], { protocol: 4, frame: true });
    expect(framed[2]).toBe(0x95);
    expect(unpickle(framed)).toEqual([1, 2]);
  });
});

describe("round trips through our own unpickler", () => {
  const value = () => {
    const d = dict([
      ["int", 5],
      ["neg", -70000],
      ["big", 2n ** 70n],
      ["float", new PyFloat(0.1)],
      ["str", "é\u{1f600}\ud800"],
      [0, "int key"],
      ["tuple", tuple(1, tuple(), tuple(1, 2, 3, 4))],
      ["bytes", new Uint8Array([0, 255])],
      ["set", new PickleSet([1, "a"])],
      ["frozen", new PickleSet([2], true)],
      ["none", null],
      ["bools", [true, false]],
      ["od", orderedDict([["x", [1, 2]]])],
      ["obj", callGlobal("__main__", "Thing", [1])],
    ]);
    return d;
  };
  for (const protocol of [2, 3, 4] as const) {
    test(`protocol ${protocol}`, () => {
      const v = value();
      const back = roundTrip(v, protocol) as PickleDict;
      expect(tagged(new PickleDict([...back].filter(([k]) => k !== "obj")))).toEqual(tagged(new PickleDict([...v].filter(([k]) => k !== "obj"))));
      expect(back.get("obj")).toMatchObject({ module: "__main__", name: "Thing", args: [1] });
    });
  }

  test("recursive lists and shared objects keep their identity", () => {
    const l: PickleValue[] = [];
    const shared = dict([["s", 1]]);
    l.push(l, shared, shared);
    const back = unpickle(pickle(l)) as PickleValue[];
    expect(back[0]).toBe(back);
    expect(back[1]).toBe(back[2]);
  });

  test("a torch state dict: storages via persistent ids, tensors via _rebuild_tensor_v2", () => {
    const s = torchStorage("float32", "0", 6);
    const sd = orderedDict([
      ["w", torchTensor(s, [2, 3], [3, 1])],
      ["t", torchTensor(s, [3, 2], [1, 3], 0)],
    ]);
    const { value, globals } = unpickleDetailed(pickle(sd, { restrictTo: "torch-1.13" }));
    expect(globals.map((g) => `${g.module}.${g.name}`)).toEqual(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]);
    const w = (value as PickleDict).get("w") as TorchTensorRef;
    expect(w.shape).toEqual([2, 3]);
    expect((w.storage as TorchStorageRef).key).toBe("0");
    expect(w.irDType).toBe("float32");
  });

  test("numpy arrays round-trip at protocols 2 and 4", () => {
    const data = new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    for (const protocol of [2, 4] as const) {
      const a = unpickle(pickle(dict([["w", numpyArray("<f4", [2], data)]]), { protocol })) as PickleDict;
      const w = a.get("w") as NumpyArray;
      expect(w.dtype!.descr).toBe("<f4");
      expect(w.shape).toEqual([2]);
      expect(hex(w.data!)).toBe(hex(data));
    }
  });

  test("protocol 4 memo indices stay in step when globals reuse memoised module strings", () => {
    const data = new Uint8Array([1, 0]);
    const v = dict([
      ["a", numpyArray("<u2", [1], data)],
      ["b", numpyArray("<i2", [1], data)],
      ["numpy", "numpy"],
      ["c", numpyArray("|u1", [2], data)],
    ]);
    const back = unpickle(pickle(v, { protocol: 4 })) as PickleDict;
    expect((back.get("b") as NumpyArray).dtype!.descr).toBe("<i2");
    expect((back.get("c") as NumpyArray).dtype!.descr).toBe("|u1");
    expect(back.get("numpy")).toBe("numpy");
  });

  test("persistentId callback replaces values by BINPERSID", () => {
    const marker = new PickleObject("x", "Y");
    const bytes = pickle([marker], { persistentId: (v) => (v === marker ? "id-1" : undefined) });
    expect(unpickle(bytes, { persistentLoad: (pid) => `loaded ${String(pid)}` })).toEqual(["loaded id-1"]);
  });
});

describe("restrictTo torch-1.13", () => {
  const refused = (v: PickleValue) => {
    try {
      pickle(dict([["meta", dict([["x", v]])]]), { restrictTo: "torch-1.13" });
    } catch (e) {
      expect(e).toBeInstanceOf(WeightbridgeError);
      return (e as WeightbridgeError).message;
    }
    throw new Error("not refused");
  };
  test("refuses floats, bytes, sets and globals off 1.13's allow-list, naming where", () => {
    expect(refused(0.5)).toMatch(/float.*at meta\.x/);
    expect(refused(new Uint8Array(1))).toMatch(/bytes/);
    expect(refused(new PickleSet([]))).toMatch(/set/);
    expect(refused(callGlobal("torch", "device", ["cpu"]))).toMatch(/torch\.device/);
    expect(() => pickle(1, { restrictTo: "torch-1.13", protocol: 4 })).toThrow(WeightbridgeError);
  });
});

describe("a pickle handed on as it is made", () => {
  test("a state dict of 50,000 tensors: bytes go out while it is pickled (never held whole), the same bytes as pickle()", async () => {
    const n = 50_000;
    const entry = (i: number) => [`experts.${i >> 6}.w${i & 63}`, torchTensor(torchStorage("float32", String(i), 2), [2], [1])] as const;
    const handed: Uint8Array[] = [];
    let handedBytes = 0;
    let handedBeforeLast = -1;
    const stream = new DictStream(function* () {
      for (let i = 0; i < n; i++) {
        if (i === n - 1) handedBeforeLast = handedBytes;
        yield entry(i);
      }
    }, true);
    await picklePausingTo(stream, { protocol: 2 }, async (chunk) => {
      handed.push(chunk);
      handedBytes += chunk.byteLength;
    });
    const whole = Buffer.from(pickle(orderedDict(Array.from({ length: n }, (_, i) => entry(i))), { protocol: 2 }));
    expect(Buffer.concat(handed).equals(whole)).toBe(true);
    // ~5 MB in all; what is still unwritten when the last entry is made stays under the ~1 MiB hand-on size plus a batch.
    expect(whole.length).toBeGreaterThan(4 << 20);
    expect(whole.length - handedBeforeLast).toBeLessThan(3 << 20);
    expect(handed.length).toBeGreaterThan(3);
  });
});
