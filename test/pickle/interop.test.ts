import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  NumpyArray,
  PickleDict,
  PickleSet,
  PyByteArray,
  PyComplex,
  PyFloat,
  TorchStorageRef,
  TorchTensorRef,
  callGlobal,
  dict,
  numpyArray,
  orderedDict,
  pickle,
  torchStorage,
  torchTensor,
  tuple,
  unpickle,
  type PickleValue,
} from "../../src/pickle/index.js";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { normalizeSets, tagged } from "./tagged.js";
import { fixture } from "../helpers/fixtures.js";

const FIXTURES = `${fixture("pickle")}/`;
const PRELUDE = `import sys, json, pickle, collections\nsys.path.insert(0, ${JSON.stringify(FIXTURES)})\nfrom tagged import tagged, kitchen_sink\n`;
const tmp = mkdtempSync(join(tmpdir(), "wb-pickle-"));

function writeTmp(name: string, bytes: Uint8Array): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

describe.skipIf(!hasPythonModules("numpy"))("interop with CPython's pickle", () => {
  test("pickles CPython writes at protocols 0-5 unpickle to the same values", () => {
    runPython(`${PRELUDE}
for p in range(6):
    open(f"${tmp}/sink{p}.pkl", "wb").write(pickle.dumps(kitchen_sink(), protocol=p))
json.dump(tagged(kitchen_sink()), open("${tmp}/sink.json", "w"))`);
    const want = normalizeSets(JSON.parse(readFileSync(join(tmp, "sink.json"), "utf8")));
    for (let p = 0; p <= 5; p++) {
      const v = unpickle(new Uint8Array(readFileSync(join(tmp, `sink${p}.pkl`))), { preserveFloats: true });
      expect(normalizeSets(tagged(v)), `protocol ${p}`).toEqual(want);
    }
  });

  const ours = (): PickleValue =>
    dict([
      ["ints", [0, 255, 256, 65535, 65536, -1, 2 ** 31, -(2 ** 31) - 1, 2n ** 64n, -(2n ** 100n), Number.MAX_SAFE_INTEGER]],
      ["floats", [new PyFloat(1), 0.1, -2.5e-300, Infinity, new PyFloat(-0)]],
      ["strs", ["", "é", "\u{1f600}", "a\nb", "x".repeat(300)]],
      ["bytes", [new Uint8Array(0), new Uint8Array([0, 255, 10]), new Uint8Array(70_000).fill(7)]],
      ["tuples", [tuple(), tuple(1), tuple(1, 2), tuple(1, 2, 3), tuple(1, 2, 3, 4)]],
      [7, "int key"],
      [-3, "negative key"],
      [
        "odict",
        orderedDict([
          ["b", 1],
          ["a", tuple("x", null)],
        ]),
      ],
      ["set", new PickleSet([1, 2])],
      ["frozenset", new PickleSet(["f"], true)],
      ["bytearray", new PyByteArray(new Uint8Array([1, 2]))],
      ["complex", new PyComplex(1.5, -2)],
      ["many", Array.from({ length: 2500 }, (_, i) => i)],
      ["bigdict", dict(Array.from({ length: 1500 }, (_, i) => [`k${i}`, tuple(i)] as const))],
      ["bools", [true, false, null]],
    ]);

  for (const [protocol, frame] of [
    [2, false],
    [3, false],
    [4, false],
    [4, true],
  ] as const) {
    test(`pickle.loads reads our protocol ${protocol}${frame ? " framed" : ""} output as the same values`, () => {
      const path = writeTmp(`ours${protocol}${frame}.pkl`, pickle(ours(), { protocol, frame }));
      const out = runPython(`${PRELUDE}print(json.dumps(tagged(pickle.loads(open(sys.argv[1], "rb").read()))))`, [path]);
      expect(normalizeSets(JSON.parse(out))).toEqual(normalizeSets(tagged(ours())));
    });
  }

  test("simple values are byte-identical to CPython's protocol-2 output", () => {
    const v = dict([
      ["a", [1, 2 ** 31, -5, "x", tuple(1, 2)]],
      ["b", orderedDict([["k", tuple()]])],
      [3, null],
    ]);
    const out = runPython(`import pickle, collections, sys
v = {"a": [1, 2**31, -5, "x", (1, 2)], "b": collections.OrderedDict([("k", ())]), 3: None}
sys.stdout.write(pickle.dumps(v, protocol=2).hex())`);
    expect(Buffer.from(pickle(v)).toString("hex")).toBe(out);
  });

  test("numpy reads our ndarrays (protocols 2 and 4) bit-exactly", () => {
    const f4 = new Uint8Array(new Float32Array([1.5, -2, 3.25, 0]).buffer);
    const bf = new Uint8Array([0x80, 0x3f, 0x00, 0x40]);
    for (const protocol of [2, 4] as const) {
      const value = dict([
        ["w", numpyArray("<f4", [2, 2], f4)],
        ["b16", numpyArray("<u2", [2], bf)],
        ["e", numpyArray("|b1", [0], new Uint8Array(0))],
      ]);
      const path = writeTmp(`np${protocol}.pkl`, pickle(value, { protocol }));
      const out = runPython(
        `import pickle, sys, json
d = pickle.loads(open(sys.argv[1], "rb").read())
print(json.dumps({k: [v.dtype.str, list(v.shape), v.tobytes().hex()] for k, v in d.items()}))`,
        [path],
      );
      expect(JSON.parse(out)).toEqual({
        w: ["<f4", [2, 2], Buffer.from(f4).toString("hex")],
        b16: ["<u2", [2], "803f0040"],
        e: ["|b1", [0], ""],
      });
      const back = unpickle(new Uint8Array(readFileSync(path))) as PickleDict;
      expect(back.get("w")).toBeInstanceOf(NumpyArray);
    }
  });
});

describe.skipIf(!hasPythonModules("torch"))("interop with torch 1.13", () => {
  test("torch.save data.pkl of a fresh state dict unpickles into tensor refs", () => {
    runPython(`import torch, io, zipfile, collections
sd = collections.OrderedDict(a=torch.arange(6.).view(2, 3).t(), b=torch.tensor([1, 2], dtype=torch.int32))
buf = io.BytesIO(); torch.save(sd, buf)
z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
open("${tmp}/sd.pkl", "wb").write(z.read([n for n in z.namelist() if n.endswith("data.pkl")][0]))`);
    const d = unpickle(new Uint8Array(readFileSync(join(tmp, "sd.pkl")))) as PickleDict;
    const a = d.get("a") as TorchTensorRef;
    expect([a.shape, a.stride, a.irDType]).toEqual([[3, 2], [1, 3], "float32"]);
    const b = d.get("b") as TorchTensorRef;
    expect([b.shape, b.stride, b.irDType, (b.storage as TorchStorageRef).numel]).toEqual([[2], [1], "int32", 2]);
  });

  test("torch.load(weights_only=True) accepts our protocol-2 restricted output", () => {
    const s = torchStorage("float32", "0", 6);
    const h = torchStorage("int64", "1", 1);
    const sd = orderedDict([
      ["w", torchTensor(s, [2, 3], [3, 1])],
      ["wt", torchTensor(s, [3, 2], [1, 3])],
      ["tail", torchTensor(s, [2], [1], 4)],
      ["n", torchTensor(h, [], [])],
    ]);
    sd.attributes = dict([["_metadata", orderedDict([["", dict([["version", 1]])]])]]);
    const nested = dict([
      ["model", sd],
      ["epoch", 3],
      ["names", ["a", tuple("b", 2 ** 40)]],
      ["big", -(2n ** 70n)],
      ["flag", true],
      ["none", null],
    ]);
    const path = writeTmp("data.pkl", pickle(nested, { restrictTo: "torch-1.13" }));
    const out = runPython(
      `import torch, zipfile, io, sys, struct, json
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", open(sys.argv[1], "rb").read())
    z.writestr("archive/data/0", struct.pack("<6f", *range(6)))
    z.writestr("archive/data/1", struct.pack("<q", 42))
    z.writestr("archive/version", "3\\n")
buf.seek(0)
d = torch.load(buf, weights_only=True)
m = d["model"]
print(json.dumps({"w": m["w"].tolist(), "wt": m["wt"].tolist(), "tail": m["tail"].tolist(), "n": m["n"].item(),
  "shared": m["w"].storage().data_ptr() == m["wt"].storage().data_ptr(), "meta": m._metadata[""]["version"],
  "epoch": d["epoch"], "names": [d["names"][0], list(d["names"][1])], "big": str(d["big"]), "flag": d["flag"], "none": d["none"]}))`,
      [path],
    );
    expect(JSON.parse(out)).toEqual({
      w: [
        [0, 1, 2],
        [3, 4, 5],
      ],
      wt: [
        [0, 3],
        [1, 4],
        [2, 5],
      ],
      tail: [4, 5],
      n: 42,
      shared: true,
      meta: 1,
      epoch: 3,
      names: ["a", ["b", 2 ** 40]],
      big: (-(2n ** 70n)).toString(),
      flag: true,
      none: null,
    });
  });

  test("torch.load(weights_only=True) refuses what restrictTo refuses (BINFLOAT), confirming the rule", () => {
    const path = writeTmp("float.pkl", pickle(dict([["lr", 0.1]])));
    const out = runPython(
      `import torch, zipfile, io, sys
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("archive/data.pkl", open(sys.argv[1], "rb").read()); z.writestr("archive/version", "3\\n")
buf.seek(0)
try:
    torch.load(buf, weights_only=True); print("loaded")
except Exception as e:
    print("refused")`,
      [path],
    );
    expect(out.trim()).toBe("refused");
    expect(() => pickle(dict([["lr", 0.1]]), { restrictTo: "torch-1.13" })).toThrow(/float/);
  });

  test("whole-model data.pkl written by torch.save(model) walks to the state_dict keys", () => {
    runPython(`import torch, io, zipfile
m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Linear(2, 1, bias=False))
buf = io.BytesIO(); torch.save(m, buf)
z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
open("${tmp}/model.pkl", "wb").write(z.read([n for n in z.namelist() if n.endswith("data.pkl")][0]))`);
    const root = unpickle(new Uint8Array(readFileSync(join(tmp, "model.pkl"))));
    expect(root).toMatchObject({ module: "torch.nn.modules.container", name: "Sequential" });
    const modules = (root as { attr(n: string): PickleValue }).attr("_modules") as PickleDict;
    expect([...modules.keys()]).toEqual(["0", "1", "2"]);
    const lin = modules.get("2") as { attr(n: string): PickleValue };
    expect((lin.attr("_parameters") as PickleDict).get("bias")).toBe(null);
  });

  test("an unknown callable from a REDUCE is dangerous: refused, or (tolerated) an inert stub", () => {
    const bytes = pickle(callGlobal("mypkg.mod", "Factory", [1, "x"]));
    expect(() => unpickle(bytes)).toThrow(/pickle calls mypkg\.mod\.Factory \(GLOBAL at byte 2\): REDUCE at byte \d+ calls it/);
    const v = unpickle(bytes, { refuseDangerous: false });
    expect(v).toMatchObject({ module: "mypkg.mod", name: "Factory", args: [1, "x"] });
  });
});
