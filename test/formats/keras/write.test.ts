import { describe, expect, test } from "vitest";
import { fileSource, memorySource } from "../../../src/io/source.js";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySink, atomicFileSink, type ByteSink } from "../../../src/io/sink.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { bytesData, makeTensor, type Tensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import { readKerasH5 } from "../../../src/formats/keras/legacy-read.js";
import { writeKerasH5 } from "../../../src/formats/keras/legacy-write.js";
import { readKeras } from "../../../src/formats/keras/v3-read.js";
import { kerasFormat } from "../../../src/formats/keras/format.js";
import type { WriteOptions } from "../../../src/formats/types.js";
import { detectFormat, outputVariantFor } from "../../../src/formats/index.js";
import { FIXTURES, REAL, summary } from "./helpers.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";

/** Writes Keras 3 as api/write.ts does: a .keras zip or a .weights.h5, by the output's name. */
const writeKeras = (checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> =>
  kerasFormat.write!(checkpoint, sink, options, outputVariantFor(kerasFormat, sink.name)?.variant);

function f32(name: string, shape: number[], seed = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n).map((_, i) => Math.sin(i + seed));
  return makeTensor(name, "float32", shape, bytesData(new Uint8Array(data.buffer)));
}

function raw(name: string, dtype: Tensor["dtype"], shape: number[], bytes: number[]): Tensor {
  return makeTensor(name, dtype, shape, bytesData(Uint8Array.from(bytes)));
}

async function writeRead(checkpoint: Checkpoint, to: "keras-h5" | "keras", sinkName: string, options = {}): Promise<{ back: Checkpoint; bytes: Uint8Array }> {
  const sink = new MemorySink(sinkName);
  if (to === "keras-h5") await writeKerasH5(checkpoint, sink, options);
  else await writeKeras(checkpoint, sink, options);
  const bytes = sink.bytes();
  const source = memorySource(bytes, sinkName);
  expect((await detectFormat(source)).format.id).toBe(to);
  const back = to === "keras-h5" ? await readKerasH5(source) : await readKeras(source);
  return { back, bytes };
}

describe("round trips are exact", () => {
  const legacy = [`${FIXTURES}tfkeras_model.h5`, `${FIXTURES}keras22_weights.h5`, `${REAL}hgq_jet_classifier.h5`, `${REAL}KERAS_3layer_weights.h5`];
  for (const file of legacy) {
    test(`keras-h5 ${file.split("/").pop()}`, async () => {
      const source = await fileSource(file);
      const original = await readKerasH5(source);
      const { back } = await writeRead(original, "keras-h5", "out.h5");
      expect(await summary(back)).toEqual(await summary(original));
      expect(back.meta.keras_h5).toEqual(original.meta.keras_h5);
      expect(back.meta.model_config).toEqual(original.meta.model_config);
      expect(back.meta.keras_version).toBe(original.meta.keras_version);
      expect(back.tensors.map((t) => t.role)).toEqual(original.tensors.map((t) => t.role));
      await source.close();
    });
  }

  for (const [file, out] of [
    [`${FIXTURES}keras3.weights.h5`, "out.weights.h5"],
    [`${REAL}nested_container.keras`, "out.keras"],
    [`${FIXTURES}tfkeras213.keras`, "x.keras"],
  ] as const) {
    test(`keras ${file.split("/").pop()} → ${out}`, async () => {
      const source = await fileSource(file);
      const original = await readKeras(source);
      const { back } = await writeRead(original, "keras", out);
      expect(await summary(back)).toEqual(await summary(original));
      expect(back.meta.keras).toEqual(original.meta.keras);
      if (out.endsWith(".keras")) expect(back.meta.config).toEqual(original.meta.config);
      await source.close();
    });
  }

  test("every dtype, 0-d and empty tensors, NaN payloads in float16/bfloat16", async () => {
    const tensors = [
      raw("a/f16", "float16", [3], [0x01, 0x7c, 0x00, 0x3c, 0x01, 0x80]), // sNaN payload 1, 1.0, -subnormal
      raw("a/bf16", "bfloat16", [2], [0x81, 0x7f, 0x80, 0x3f]),
      raw("a/f64", "float64", [1], [1, 2, 3, 4, 5, 6, 7, 8]),
      raw("a/i64", "int64", [], [255, 255, 255, 255, 255, 255, 255, 255]),
      raw("a/u64", "uint64", [1], [1, 0, 0, 0, 0, 0, 0, 128]),
      raw("a/i16", "int16", [2], [1, 128, 2, 0]),
      raw("a/u32", "uint32", [1], [1, 2, 3, 200]),
      raw("a/u8", "uint8", [2], [0, 255]),
      raw("a/b", "bool", [3], [1, 0, 1]),
      raw("a/empty", "float32", [0, 4], []),
    ];
    const checkpoint: Checkpoint = { tensors, meta: {} };
    const { back } = await writeRead(checkpoint, "keras-h5", "all.h5");
    expect(await summary(back)).toEqual(await summary(checkpoint));
    const objectPaths: Checkpoint = { tensors: tensors.map((t, i) => ({ ...t, name: `layers/x/vars/${i}` })), meta: {} };
    const { back: back3 } = await writeRead(objectPaths, "keras", "all.weights.h5");
    expect(await summary(back3)).toEqual(await summary(objectPaths));
  });
});

describe("keras-h5 writer layouts", () => {
  test("non-Keras names: layer = text before the first '/', order of first appearance", async () => {
    const checkpoint: Checkpoint = {
      tensors: [f32("conv1/kernel:0", [3, 3, 1, 2]), f32("conv1/bias:0", [2]), f32("fc/kernel:0", [2, 2]), f32("scale", [1])],
      meta: {},
    };
    const { back } = await writeRead(checkpoint, "keras-h5", "w.h5");
    expect(back.tensors.map((t) => t.name)).toEqual(["conv1/kernel:0", "conv1/bias:0", "fc/kernel:0", "scale"]);
    expect((back.meta.keras_h5 as { layers: unknown }).layers).toEqual([
      { name: "conv1", weights: ["conv1/kernel:0", "conv1/bias:0"] },
      { name: "fc", weights: ["fc/kernel:0"] },
      { name: "scale", weights: ["scale"] },
    ]);
    expect(back.meta.keras_version).toBe("2.15.0");
  });

  test("template: its layer order and weightless layers are followed exactly", async () => {
    const templateSource = await fileSource(`${REAL}KERAS_conv2d_model_weights.h5`);
    const template = await readKerasH5(templateSource);
    const checkpoint: Checkpoint = {
      tensors: [
        f32("dense_1/bias:0", [10]),
        f32("dense_1/kernel:0", [128, 10]),
        f32("conv2d_1/bias:0", [2]),
        f32("conv2d_1/kernel:0", [3, 3, 1, 2]),
        f32("extra/x:0", [1]),
      ],
      meta: {},
    };
    const warnings: string[] = [];
    const { back } = await writeRead(checkpoint, "keras-h5", "t.h5", { template, warn: (m: string) => warnings.push(m) });
    expect(back.meta.keras_h5).toEqual(template.meta.keras_h5);
    expect(back.tensors.map((t) => t.name)).toEqual(template.tensors.map((t) => t.name));
    expect(warnings.join()).toMatch(/extra\/x:0/);
    await expect(writeKerasH5(checkpoint, new MemorySink("s.h5"), { template, strict: true })).rejects.toMatchObject({ code: "template-mismatch" });
    const wrongShape = { tensors: checkpoint.tensors.map((t) => (t.name === "dense_1/bias:0" ? f32(t.name, [11]) : t)), meta: {} };
    await expect(writeKerasH5(wrongShape, new MemorySink("s.h5"), { template })).rejects.toMatchObject({
      code: "template-mismatch",
      location: { tensor: "dense_1/bias:0" },
    });
    const missing = { tensors: checkpoint.tensors.slice(1), meta: {} };
    await expect(writeKerasH5(missing, new MemorySink("s.h5"), { template })).rejects.toMatchObject({ code: "template-mismatch" });
    await templateSource.close();
  });

  test("long name lists are split into layer_names0, layer_names1 ... and read back", async () => {
    const tensors = Array.from({ length: 300 }, (_, i) => f32(`layer_with_a_rather_long_name_${"x".repeat(200)}_${i}/kernel:0`, [1], i));
    const { back } = await writeRead({ tensors, meta: {} }, "keras-h5", "many.h5");
    expect(back.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
  });
});

describe("keras writer needs object paths", () => {
  test("plain names without a template: a usage error that says why", async () => {
    const checkpoint: Checkpoint = { tensors: [f32("fc.weight", [2, 2])], meta: {} };
    await expect(writeKeras(checkpoint, new MemorySink("o.weights.h5"), {})).rejects.toMatchObject({
      code: "usage",
      message: expect.stringMatching(/object path.*template/),
    });
  });

  test("template gives objects and name attributes; .keras needs a config", async () => {
    const source = await fileSource(`${REAL}nested_container.keras`);
    const template = await readKeras(source);
    const renamed: Checkpoint = { tensors: template.tensors.map((t) => f32(t.name, t.shape, 7)), meta: {} };
    const { back } = await writeRead(renamed, "keras", "t.keras", { template });
    expect(back.meta.keras).toEqual(template.meta.keras);
    expect(await summary(back)).toEqual(await summary(renamed));
    await expect(writeKeras(renamed, new MemorySink("t.keras"), {})).rejects.toMatchObject({ code: "usage" });
    const short = { tensors: renamed.tensors.slice(1), meta: {} };
    await expect(writeKeras(short, new MemorySink("t.weights.h5"), { template })).rejects.toMatchObject({ code: "template-mismatch" });
    await source.close();
  });
});

describe("bad input", () => {
  test("truncated HDF5 is a WeightbridgeError", async () => {
    const { readFileSync } = await import("node:fs");
    const bytes = new Uint8Array(readFileSync(`${FIXTURES}keras22_weights.h5`)).subarray(0, 3000);
    await expect(readKerasH5(memorySource(bytes, "cut.h5"))).rejects.toMatchObject({ name: "WeightbridgeError" });
  });

  test("HDF5 without Keras layout", async () => {
    const sink = new MemorySink("k.weights.h5");
    await writeKeras({ tensors: [f32("layers/d/vars/0", [1])], meta: {} }, sink, {});
    await expect(readKerasH5(memorySource(sink.bytes(), "k.h5"))).rejects.toMatchObject({ code: "bad-magic" });
  });
});

describe("h5wasm MEMFS hygiene", () => {
  test("no files are left in MEMFS after reads, writes and failed writes", async () => {
    const { loadH5 } = await import("../../../src/hdf5/h5.js");
    const { module } = await loadH5();
    const fs = module.FS as unknown as { readdir(p: string): string[] };
    const source = await fileSource(`${FIXTURES}tfkeras_model.h5`);
    const c = await readKerasH5(source);
    await summary(c);
    await writeKerasH5(c, new MemorySink("a.h5"), {});
    const bad: Checkpoint = { tensors: [makeTensor("x/c:0", "complex64", [1], bytesData(new Uint8Array(8)))], meta: {} };
    const sink = new MemorySink("b.h5");
    await expect(writeKerasH5(bad, sink, {})).rejects.toMatchObject({ code: "unsupported", location: { tensor: "x/c:0" } });
    expect(sink.position).toBe(0);
    expect(fs.readdir("/weightbridge").filter((n) => n !== "." && n !== "..")).toEqual([]);
    await source.close();
  });
});

describe("file outputs are written in place, not built in memory", () => {
  const dir = mkdtempSync(join(tmpdir(), "wb-keras-file-"));

  async function viaFile(write: typeof writeKerasH5, checkpoint: Checkpoint, name: string): Promise<{ back: Checkpoint; values: unknown }> {
    const path = join(dir, name);
    const sink = await atomicFileSink(path, { force: true });
    try {
      await write(checkpoint, sink, {});
      await sink.commit();
    } finally {
      await sink.abort();
    }
    const source = await fileSource(path);
    try {
      const back = await (name.endsWith(".h5") && !name.endsWith(".weights.h5") ? readKerasH5 : readKeras)(source);
      return { back, values: await summary(back) };
    } finally {
      await source.close();
    }
  }

  test("keras-h5 through libhdf5's positioned writes to the output file, .keras through a scratch file", async () => {
    const h5 = await fileSource(`${FIXTURES}tfkeras_model.h5`);
    const original = await readKerasH5(h5);
    const { back, values } = await viaFile(writeKerasH5, original, "direct.h5");
    expect(values).toEqual(await summary(original));
    expect(back.meta.model_config).toEqual(original.meta.model_config);

    const k = await fileSource(`${REAL}nested_container.keras`);
    const v3 = await readKeras(k);
    const { back: backV3, values: valuesV3 } = await viaFile(writeKeras, v3, "staged.keras");
    expect(valuesV3).toEqual(await summary(v3));
    expect(backV3.meta.config).toEqual(v3.meta.config);
    expect(readdirSync(dir).sort()).toEqual(["direct.h5", "staged.keras"]);
    await h5.close();
    await k.close();
  });

  test("a failure part-way leaves neither the output, its temporary nor the scratch file", async () => {
    const failing = (name: string) =>
      makeTensor(name, "float32", [2], {
        byteLength: 8,
        read: () => Promise.reject(new WeightbridgeError("io", "disk went away", { file: "src" })),
      });
    const legacy: Checkpoint = { tensors: [f32("a/kernel:0", [3, 2]), failing("b/kernel:0")], meta: {} };
    const v3: Checkpoint = { tensors: [f32("layers/a/vars/0", [3, 2]), failing("layers/b/vars/0")], meta: { config: { class_name: "Sequential" } } };
    for (const [name, run] of [
      ["bad.h5", (sink: ByteSink) => writeKerasH5(legacy, sink, {})],
      ["bad.keras", (sink: ByteSink) => writeKeras(v3, sink, {})],
    ] as const) {
      const sink = await atomicFileSink(join(dir, name));
      await expect(run(sink)).rejects.toThrow("disk went away");
      await sink.abort();
    }
    expect(readdirSync(dir).filter((n) => n.startsWith("bad") || n.startsWith(".bad"))).toEqual([]);
  });
});

describe("big tensors are written slab by slab", () => {
  test.skipIf(!hasPythonModules("h5py", "numpy"))(
    "a chunked dataset filled in slabs reads back exactly in h5py (float32, widened float16, int64)",
    async () => {
      const { writeH5 } = await import("../../../src/hdf5/h5.js");
      const { writeTensorDataset } = await import("../../../src/hdf5/datasets.js");
      const dir = mkdtempSync(join(tmpdir(), "wb-keras-slabs-"));
      const path = join(dir, "slabs.h5");
      const f32 = makeTensor("a", "float32", [10, 7], bytesData(new Uint8Array(Float32Array.from({ length: 70 }, (_, i) => i * 0.5 - 3).buffer)));
      const f16 = makeTensor("b", "float16", [5, 4], bytesData(new Uint8Array(Uint16Array.from({ length: 20 }, (_, i) => 0x3c00 + i * 17).buffer)));
      const i64 = makeTensor("c", "int64", [9], bytesData(new Uint8Array(BigInt64Array.from({ length: 9 }, (_, i) => BigInt(i) * -(2n ** 40n)).buffer)));
      const sink = await atomicFileSink(path);
      await writeH5(sink, async (file, lib) => {
        await writeTensorDataset(file, lib, "g/a", f32, { file: path }, 3 * 7 * 4);
        await writeTensorDataset(file, lib, "g/b", f16, { file: path }, 2 * 4 * 4);
        await writeTensorDataset(file, lib, "g/c", i64, { file: path }, 16);
      });
      await sink.commit();
      const out = JSON.parse(
        runPython(
          String.raw`
import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
a, b, c = f["g/a"], f["g/b"], f["g/c"]
print(json.dumps({
  "chunks": [a.chunks, b.chunks, c.chunks],
  "a": bool(np.array_equal(a[()], (np.arange(70, dtype=np.float32) * 0.5 - 3).reshape(10, 7))),
  "b": bool(np.array_equal(b[()], (0x3c00 + np.arange(20) * 17).astype(np.uint16).view(np.float16).astype(np.float32).reshape(5, 4))),
  "b_marker": b.attrs["dtype"] if isinstance(b.attrs["dtype"], str) else b.attrs["dtype"].decode(),
  "c": bool(np.array_equal(c[()], np.arange(9, dtype=np.int64) * -(2 ** 40))),
}))`,
          [path],
        ),
      );
      expect(out).toEqual({ chunks: [[3, 7], [2, 4], [2]], a: true, b: true, b_marker: "float16", c: true });
    },
  );
});

describe("tensors of 64 KiB or more go from their stream straight to their place in the output file", () => {
  /**
   * Bytes 0, 1, 2 ... (mod 251) streamed in pieces of 10 000 bytes, whatever size is asked for; not
   * readable whole, so that every dataset, small ones too, is shown to be written from the stream
   * (a file's stream reads synchronously, a whole read waits for libuv's threads).
   */
  function streamed(name: string, dtype: Tensor["dtype"], shape: number[], byteLength: number, failAfter?: number): Tensor {
    const bytes = Uint8Array.from({ length: byteLength }, (_, i) => i % 251);
    async function* pieces(): AsyncIterable<Uint8Array> {
      for (let at = 0; at < byteLength; at += 10_000) {
        if (failAfter !== undefined && at >= failAfter) throw new WeightbridgeError("io", "disk went away", { file: "src" });
        yield bytes.subarray(at, Math.min(byteLength, at + 10_000));
      }
    }
    const whole = () => Promise.reject(new Error("read whole"));
    return makeTensor(name, dtype, shape, { byteLength, read: whole, readInto: whole, chunks: pieces, streamChunks: pieces });
  }

  test.skipIf(!hasPythonModules("h5py", "numpy"))("contiguous datasets with the stream's bytes, in h5py; in memory the same values, in slabs", async () => {
    const { writeH5 } = await import("../../../src/hdf5/h5.js");
    const { writeTensorDataset } = await import("../../../src/hdf5/datasets.js");
    const dir = mkdtempSync(join(tmpdir(), "wb-keras-raw-"));
    const tensors = [
      streamed("f32", "float32", [300, 100], 120_000),
      streamed("small", "float32", [3], 12),
      streamed("f16", "float16", [200, 100], 40_000),
      streamed("bf16", "bfloat16", [200, 100], 40_000),
      streamed("i64", "int64", [9000], 72_000),
      streamed("flag", "bool", [70_000], 70_000),
      // Exactly libhdf5's 64 KiB sieve buffer: a write of that size is copied through the buffer.
      streamed("sieve", "float32", [128, 128], 65_536),
    ];
    // Slabs of 16 bytes: what the raw path must override (contiguous), and what a file built in memory gets.
    const build = async (sink: ByteSink): Promise<void> => {
      await writeH5(sink, async (file, lib) => {
        for (const t of tensors) await writeTensorDataset(file, lib, `g/${t.name}`, t, { file: sink.name }, 16);
      });
    };
    const path = join(dir, "raw.h5");
    const sink = await atomicFileSink(path);
    await build(sink);
    await sink.commit();
    const memory = new MemorySink("memory.h5");
    await build(memory);
    const memoryPath = join(dir, "memory.h5");
    writeFileSync(memoryPath, memory.bytes());

    const read = (file: string) =>
      JSON.parse(
        runPython(
          String.raw`
import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
def seq(n): return (np.arange(n) % 251).astype(np.uint8)
g = f["g"]
print(json.dumps({
  "chunks": {k: g[k].chunks for k in g},
  "f32": bool(np.array_equal(g["f32"][()], seq(120000).view("<f4").reshape(300, 100), equal_nan=True)),
  "small": bool(np.array_equal(g["small"][()], seq(12).view("<f4"), equal_nan=True)),
  "f16": bool(np.array_equal(g["f16"][()], seq(40000).view("<f2").astype(np.float32).reshape(200, 100), equal_nan=True)),
  "f16_marker": g["f16"].attrs["dtype"] if isinstance(g["f16"].attrs["dtype"], str) else g["f16"].attrs["dtype"].decode(),
  "bf16": bool(np.array_equal(g["bf16"][()], (seq(40000).view("<u2").astype(np.uint32) << 16).view("<f4").reshape(200, 100), equal_nan=True)),
  "i64": bool(np.array_equal(g["i64"][()], seq(72000).view("<i8"))),
  "flag": bool(np.array_equal(g["flag"][()], seq(70000))),
  "sieve": bool(np.array_equal(g["sieve"][()], seq(65536).view("<f4").reshape(128, 128), equal_nan=True)),
}))`,
          [file],
        ),
      );
    const values = { f32: true, small: true, f16: true, f16_marker: "float16", bf16: true, i64: true, flag: true, sieve: true };
    // The 64 KiB one takes the heap path, here in the test's 16-byte slabs.
    expect(read(path)).toEqual({ chunks: { bf16: null, f16: null, f32: null, flag: null, i64: null, sieve: [1, 128], small: null }, ...values });
    expect(read(memoryPath)).toEqual({
      chunks: { bf16: [1, 100], f16: [1, 100], f32: [1, 100], flag: [16], i64: [2], sieve: [1, 128], small: null },
      ...values,
    });
  });

  test("a stream failing part-way leaves neither the output nor its temporary", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-keras-raw-fail-"));
    const checkpoint: Checkpoint = { tensors: [f32("a/kernel:0", [3, 2]), streamed("b/kernel:0", "float32", [100, 1000], 400_000, 200_000)], meta: {} };
    const sink = await atomicFileSink(join(dir, "bad.h5"));
    await expect(writeKerasH5(checkpoint, sink, {})).rejects.toThrow("disk went away");
    await sink.abort();
    expect(readdirSync(dir)).toEqual([]);
  });
});
