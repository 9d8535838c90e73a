import { afterAll, describe, expect, test } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileSource } from "../../../src/io/source.js";
import { MemorySink, type ByteSink } from "../../../src/io/sink.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import { readKerasH5 } from "../../../src/formats/keras/legacy-read.js";
import { writeKerasH5 } from "../../../src/formats/keras/legacy-write.js";
import { readKeras } from "../../../src/formats/keras/v3-read.js";
import { kerasFormat } from "../../../src/formats/keras/format.js";
import type { WriteOptions } from "../../../src/formats/types.js";
import { outputVariantFor } from "../../../src/formats/index.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { FIXTURES, REAL, summary } from "./helpers.js";

/** Writes Keras 3 as api/write.ts does: a .keras zip or a .weights.h5, by the output's name. */
const writeKeras = (checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> =>
  kerasFormat.write!(checkpoint, sink, options, outputVariantFor(kerasFormat, sink.name)?.variant);

const dir = mkdtempSync(join(tmpdir(), "wb-keras-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Keras' own legacy loader logic (load_attributes_from_hdf5_group + weight lookup), in h5py. */
const LEGACY_LOADER = String.raw`
import sys, json, hashlib, h5py, numpy as np
def load_attr(group, name):
    if name in group.attrs:
        data = [n.decode("utf8") if hasattr(n, "decode") else n for n in group.attrs[name]]
    else:
        data, i = [], 0
        while f"{name}{i}" in group.attrs:
            data.extend(n.decode("utf8") if hasattr(n, "decode") else n for n in group.attrs[f"{name}{i}"]); i += 1
    return data
def le(a):
    a = np.ascontiguousarray(a)
    return a.astype(a.dtype.newbyteorder("<")) if a.dtype.byteorder == ">" else a
f = h5py.File(sys.argv[1], "r")
out = {"root_attrs": {k: str(f.attrs[k].dtype) if hasattr(f.attrs[k], "dtype") else type(f.attrs[k]).__name__ for k in f.attrs}}
# Keras <= 2.3 did f.attrs["keras_version"].decode("utf8"): works only with fixed-length strings
g = f["model_weights"] if "model_weights" in f and "layer_names" not in f.attrs else f
out["old_keras_decode"] = g.attrs["keras_version"].decode("utf8")
out["chunked"] = sorted(k for k in g.attrs if k.startswith("layer_names"))
layers = []
for layer in load_attr(g, "layer_names"):
    names = load_attr(g[layer], "weight_names")
    for w in names:
        d = g[layer][w]
        layers.append({"layer": layer, "weight": w, "dtype": str(d.dtype), "shape": list(d.shape),
                       "sha256": hashlib.sha256(le(d[()]).tobytes()).hexdigest(), "attrs": {k: str(d.attrs[k]) for k in d.attrs}})
out["weights"] = layers
out["model_config"] = json.loads(f.attrs["model_config"]) if "model_config" in f.attrs else None
print(json.dumps(out))
`;

const KERAS3_LOADER = String.raw`
import sys, json, hashlib, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
out = []
def visit(name, obj):
    if isinstance(obj, h5py.Group) and name.split("/")[-1] == "vars":
        n = obj.attrs.get("name")
        out.append({"vars": name, "name": n if n is None else str(n), "name_type": None if n is None else str(type(n).__name__),
                    "tensors": [{"dtype": str(obj[str(i)].dtype), "attrs": {k: str(obj[str(i)].attrs[k]) for k in obj[str(i)].attrs},
                                 "sha256": hashlib.sha256(np.ascontiguousarray(obj[str(i)][()]).tobytes()).hexdigest()} for i in range(len(obj))]})
f.visititems(visit)
print(json.dumps(out))
`;

describe.skipIf(!hasPythonModules("h5py", "numpy"))("h5py (HDF5 1.10) reads what the keras writers wrote", () => {
  test("keras-h5 model layout round trip: values bit-exact, fixed strings, model_config", async () => {
    const source = await fileSource(`${FIXTURES}tfkeras_model.h5`);
    const original = await readKerasH5(source);
    const sink = new MemorySink("x.h5");
    await writeKerasH5(original, sink, {});
    const path = join(dir, "model.h5");
    writeFileSync(path, sink.bytes());
    const got = JSON.parse(runPython(LEGACY_LOADER, [path]));
    expect(got.old_keras_decode).toBe("2.15.0");
    expect(got.root_attrs.model_config).toMatch(/^\|S\d+$/);
    expect(got.model_config).toEqual(original.meta.model_config);
    const ours = await summary(original);
    const layerTensors = ours.filter((t) => !t.name.startsWith("optimizer_weights/"));
    // float16 is stored as float32 (h5wasm cannot write 2-byte floats) with dtype="float16"
    expect(got.weights.map((w: { dtype: string }) => w.dtype)).toContain("float32");
    const f16 = got.weights.find((w: { weight: string }) => w.weight === "embedding/embeddings:0");
    expect(f16.attrs).toEqual({ dtype: "float16" });
    const exact = got.weights.filter((w: { weight: string }) => w.weight !== "embedding/embeddings:0");
    for (const w of exact) {
      const name = w.weight.startsWith(`${w.layer}/`) ? w.weight : `${w.layer}/${w.weight}`;
      expect(layerTensors.find((t) => t.name === name)).toMatchObject({ sha256: w.sha256, shape: w.shape });
    }
    expect(exact.find((w: { weight: string }) => w.weight === "dense_64/kernel:0").dtype).toBe("float64");
    await source.close();
  });

  test("keras-h5 weights-only with chunked layer_names, int64 and bool", async () => {
    const tensors = Array.from({ length: 300 }, (_, i) =>
      makeTensor(`l${"x".repeat(220)}${i}/w:0`, "int64", [2], bytesData(new Uint8Array(new BigInt64Array([BigInt(i), -1n]).buffer))),
    );
    tensors.push(makeTensor("flags/b:0", "bool", [2], bytesData(Uint8Array.from([1, 0]))));
    const sink = new MemorySink("w.h5");
    await writeKerasH5({ tensors, meta: {} }, sink, {});
    const path = join(dir, "weights.h5");
    writeFileSync(path, sink.bytes());
    const got = JSON.parse(runPython(LEGACY_LOADER, [path]));
    expect(got.chunked).toEqual(["layer_names0", "layer_names1"]);
    expect(got.weights).toHaveLength(301);
    const ours = await summary({ tensors, meta: {} } as Checkpoint);
    expect(got.weights.map((w: { sha256: string }) => w.sha256)).toEqual(ours.map((t) => t.sha256));
    expect(got.weights[0].dtype).toBe("int64");
  });

  test("keras .weights.h5 and .keras: object paths, name attrs (str), bfloat16 marker", async () => {
    for (const [file, out] of [
      [`${FIXTURES}keras3.weights.h5`, "o.weights.h5"],
      [`${REAL}nested_container.keras`, "o.keras"],
    ] as const) {
      const source = await fileSource(file);
      const original = await readKeras(source);
      const sink = new MemorySink(out);
      await writeKeras(original, sink, {});
      const path = join(dir, out);
      writeFileSync(path, sink.bytes());
      const h5path = out.endsWith(".keras") ? join(dir, "member.h5") : path;
      if (out.endsWith(".keras")) {
        runPython(
          "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nassert json.loads(z.read('config.json'))['class_name']=='NestedDenseModel'\nopen(sys.argv[2],'wb').write(z.read('model.weights.h5'))",
          [path, h5path],
        );
      }
      const got = JSON.parse(runPython(KERAS3_LOADER, [h5path]));
      const objects = (original.meta.keras as { objects: Array<{ path: string; name?: string }> }).objects;
      for (const o of objects) {
        const vars = got.find((v: { vars: string }) => v.vars === (o.path ? `${o.path}/vars` : "vars"));
        expect(vars.name).toBe(o.name ?? null);
        if (o.name) expect(vars.name_type).toBe("str");
      }
      const ours = await summary(original);
      for (const t of original.tensors.filter((x) => x.dtype !== "bfloat16")) {
        const m = /^(?:(.+)\/)?vars\/(\d+)$/.exec(t.name)!;
        const vars = got.find((v: { vars: string }) => v.vars === (m[1] ? `${m[1]}/vars` : "vars"));
        expect(vars.tensors[Number(m[2])].sha256).toBe(ours.find((x) => x.name === t.name)!.sha256);
      }
      if (out === "o.weights.h5") {
        const bf = got.find((v: { vars: string }) => v.vars === "layers/dense_1/vars");
        expect(bf.tensors[1]).toMatchObject({ dtype: "float32", attrs: { dtype: "bfloat16" } });
      }
      await source.close();
    }
  });

  test("reads an h5py file chunked exactly as Keras' save_attributes_to_hdf5_group does", async () => {
    const path = join(dir, "chunked_by_h5py.h5");
    runPython(
      String.raw`
import sys, h5py, numpy as np
names = [("layer_%04d_" % i + "y" * 200).encode() for i in range(400)]
f = h5py.File(sys.argv[1], "w")
data = np.asarray(names)
n = 1
while any(c.nbytes > 64512 for c in np.array_split(data, n)): n += 1
for i, chunk in enumerate(np.array_split(data, n)): f.attrs["layer_names%d" % i] = chunk
f.attrs["keras_version"] = b"2.4.0"; f.attrs["backend"] = b"tensorflow"
for i, name in enumerate(names):
    g = f.create_group(name.decode())
    if i % 2: g.attrs["weight_names"] = np.array([b"k:0"]); g.create_dataset("k:0", data=np.full((2,), i, dtype="<f4"))
    else: g.attrs["weight_names"] = []
f.close()`,
      [path],
    );
    const source = await fileSource(path);
    const c = await readKerasH5(source);
    expect(c.tensors).toHaveLength(200);
    expect(c.tensors[0]!.name).toBe(`layer_0001_${"y".repeat(200)}/k:0`);
    expect(Array.from(new Float32Array((await c.tensors[1]!.data.read()).slice().buffer))).toEqual([3, 3]);
    await source.close();
  });
});
