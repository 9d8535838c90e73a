import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  NumpyArray,
  NumpyScalar,
  PickleDict,
  PickleObject,
  TorchParameter,
  TorchStorageRef,
  TorchTensorRef,
  unpickle,
  unpickleDetailed,
  type PickleValue,
} from "../../src/pickle/index.js";
import { normalizeSets, tagged } from "./tagged.js";
import { fixture } from "../helpers/fixtures.js";

const pickleFixture = (name: string) => new Uint8Array(readFileSync(fixture("pickle", `${name}.pkl`)));
const expected = JSON.parse(readFileSync(fixture("pickle", "expected.json"), "utf8"));
const hex = (b: Uint8Array | undefined) => Buffer.from(b!).toString("hex");

describe("CPython pickles of every protocol (committed fixtures)", () => {
  for (const p of [0, 1, 2, 3, 4, 5]) {
    test(`protocol ${p}`, () => {
      const { value, protocol } = unpickleDetailed(pickleFixture(`python_p${p}`), { name: `python_p${p}.pkl`, preserveFloats: true });
      expect(protocol).toBe(p >= 2 ? p : 0); // protocols 0 and 1 have no PROTO opcode
      expect(normalizeSets(tagged(value))).toEqual(normalizeSets(expected.python));
    });
  }

  test("memo back-references rebuild shared and cyclic structure", () => {
    for (const p of [0, 2, 4]) {
      const v = unpickle(pickleFixture(`recursive_p${p}`)) as PickleValue[];
      expect(v).toHaveLength(3);
      expect(v[0]).toBeInstanceOf(PickleDict);
      expect(v[1]).toBe(v[0]);
      expect(v[2]).toBe(v);
    }
  });
});

describe("numpy arrays as numpy pickles them", () => {
  for (const p of [2, 4, 5]) {
    test(`protocol ${p}`, () => {
      const d = unpickle(pickleFixture(`numpy_p${p}`)) as PickleDict;
      for (const [key, want] of Object.entries(expected.numpy as Record<string, { descr: string; shape: number[]; fortran: boolean; hex: string }>)) {
        const v = d.get(key);
        if (key === "npscalar") {
          expect(v).toBeInstanceOf(NumpyScalar);
          expect((v as NumpyScalar).dtype.descr).toBe(want.descr);
          expect(hex((v as NumpyScalar).data)).toBe(want.hex);
          continue;
        }
        expect(v, key).toBeInstanceOf(NumpyArray);
        const a = v as NumpyArray;
        expect(a.built).toBe(true);
        expect(a.dtype!.descr, key).toBe(want.descr);
        expect(a.shape, key).toEqual(want.shape);
        expect(a.fortranOrder, key).toBe(want.fortran);
        expect(hex(a.data), key).toBe(want.hex);
      }
    });
  }
});

describe("torch 1.13 data.pkl", () => {
  test("state dict: tensor refs with storage keys, offsets, strides and dtypes; _metadata as attributes", () => {
    const d = unpickle(pickleFixture("torch_state_dict"), { name: "torch_state_dict.pkl" }) as PickleDict;
    expect(d.ordered).toBe(true);
    expect([...d.keys()]).toEqual(Object.keys(expected.torch_state_dict));
    for (const [key, want] of Object.entries(
      expected.torch_state_dict as Record<string, { shape: number[]; stride: number[]; offset: number; dtype: string }>,
    )) {
      const t = d.get(key) as TorchTensorRef;
      expect(t).toBeInstanceOf(TorchTensorRef);
      expect(t.shape, key).toEqual(want.shape);
      expect(t.stride, key).toEqual(want.stride);
      expect(t.offset, key).toBe(want.offset);
      expect(t.irDType, key).toBe(want.dtype);
      expect(t.storage).toBeInstanceOf(TorchStorageRef);
    }
    const w = d.get("w") as TorchTensorRef;
    const view = d.get("view") as TorchTensorRef;
    expect((view.storage as TorchStorageRef).key).toBe((w.storage as TorchStorageRef).key);
    expect((w.storage as TorchStorageRef).numel).toBe(12);
    expect((w.storage as TorchStorageRef).location).toBe("cpu");
    const meta = d.attributes?.get("_metadata") as PickleDict;
    expect(meta.ordered).toBe(true);
    expect((meta.get("") as PickleDict).get("version")).toBe(1);
  });

  test("whole-model pickle: module stubs with _parameters, _buffers and _modules", () => {
    const { value, globals } = unpickleDetailed(pickleFixture("torch_whole_model"));
    const root = value as PickleObject;
    expect(root.qualifiedName).toBe("torch.nn.modules.container.Sequential");
    expect(globals.find((g) => g.name === "Sequential")?.status).toBe("unknown");
    const names: string[] = [];
    const walk = (m: PickleObject, prefix: string) => {
      for (const [n, p] of m.attr("_parameters") as PickleDict) {
        if (p === null) continue;
        expect(p).toBeInstanceOf(TorchParameter);
        names.push(`${prefix}${n}:${((p as TorchParameter).data as TorchTensorRef).shape.join("x")}`);
      }
      for (const [n, b] of m.attr("_buffers") as PickleDict) {
        if (b !== null) names.push(`${prefix}${n}:${(b as TorchTensorRef).shape.join("x")}`);
      }
      for (const [n, c] of m.attr("_modules") as PickleDict) walk(c as PickleObject, `${prefix}${n}.`);
    };
    walk(root, "");
    expect(names).toEqual(Object.entries(expected.torch_whole_model as Record<string, number[]>).map(([k, s]) => `${k}:${s.join("x")}`));
  });
});

describe("real framework files (fixtures/<format>/real)", () => {
  const real = (format: string, name: string) => new Uint8Array(readFileSync(fixture(format, "real", name)));

  test("legacy torch file: five pickles back to back, whole-model Sequential with old-style Parameters", () => {
    const bytes = real("pytorch", "three_layer_model.pt");
    const magic = unpickleDetailed(bytes);
    expect(magic.value).toBe(0x1950a86a20f9469cfc6cn);
    const proto = unpickleDetailed(bytes, { start: magic.end });
    expect(proto.value).toBe(1001);
    const sys = unpickleDetailed(bytes, { start: proto.end });
    const model = unpickleDetailed(bytes, { start: sys.end });
    const root = model.value as PickleObject;
    expect(root.qualifiedName).toBe("torch.nn.modules.container.Sequential");
    const first = (root.attr("_modules") as PickleDict).get("0") as PickleObject;
    const weight = (first.attr("_parameters") as PickleDict).get("weight") as TorchParameter;
    expect(weight).toBeInstanceOf(TorchParameter);
    const t = weight.data as TorchTensorRef;
    expect(t.rebuild).toBe("_rebuild_tensor");
    expect(t.shape).toEqual([64, 16]);
    expect(t.stride).toEqual([16, 1]);
    expect((t.storage as TorchStorageRef).location).toBe("cuda:0");
    const keys = unpickleDetailed(bytes, { start: model.end });
    expect((keys.value as string[]).length).toBe(8);
  });

  test("paddle protocol 4 and protocol 2 pdparams hold numpy arrays", () => {
    const p4 = unpickle(real("paddle", "mnist.pdparams")) as PickleDict;
    const w = p4.get("fc.weight") as NumpyArray;
    expect(w.shape).toEqual([784, 1]);
    expect(w.dtype!.descr).toBe("<f4");
    expect(w.data!.length).toBe(784 * 4);
    const p2 = unpickle(real("paddle", "mlp_protocol2.pdparams")) as PickleDict;
    for (const v of p2.values()) {
      if (!(v instanceof NumpyArray)) continue;
      expect(v.data!.length).toBe(v.shape.reduce((a, b) => a * b, 1) * v.dtype!.itemsize!);
    }
  });
});
