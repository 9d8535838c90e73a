import { describe, expect, it } from "vitest";
import { probeWithHead } from "../../../src/io/probe.js";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { MemorySink } from "../../../src/io/sink.js";
import { memorySource } from "../../../src/io/source.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import { onnxFormat } from "../../../src/formats/onnx/format.js";
import { decodeModel, int64Of } from "../../../src/formats/onnx/schema.js";
import { isWeightbridgeError } from "../../../src/errors.js";
import { keep, openFile, readFixture, summary, tempDir, writeToDir } from "./helpers.js";

async function writeToMemory(checkpoint: Parameters<NonNullable<typeof onnxFormat.write>>[0]) {
  const sink = new MemorySink("weights.onnx");
  await onnxFormat.write!(checkpoint, sink, {});
  return sink.bytes();
}

describe("onnx weights-only writer", () => {
  it("round-trips every dtype, 0-d and empty tensors bit-exact", async () => {
    const source = await readFixture("typed_tensors.onnx");
    const bytes = await writeToMemory(source);
    const back = await onnxFormat.read!(memorySource(bytes, "weights.onnx"), {});
    const strip = (xs: Awaited<ReturnType<typeof summary>>) => xs.map(({ role: _role, ...rest }) => rest);
    expect(strip(await summary(back))).toEqual(strip(await summary(source)));
    expect(back.tensors.every((t) => t.role === "initializer")).toBe(true);
    expect(back.meta).toMatchObject({ ir_version: 8, opset: 17, producer_name: "weightbridge", graph_name: "typed" }); // graph name kept from meta
  });

  it("writes raw_data initializers, no nodes, and outputs typed like the initializers", async () => {
    const checkpoint = { tensors: [makeTensor("a.weight", "float16", [2, 1], bytesData(new Uint8Array([0, 0x3c, 0, 0xc0])))], meta: {} };
    const model = decodeModel(await writeToMemory(checkpoint), "w.onnx");
    const graph = model.graph!;
    expect(graph.node).toEqual([]);
    expect(graph.initializer[0]!.data_type).toBe(10);
    expect(Array.from(graph.initializer[0]!.raw_data!)).toEqual([0, 0x3c, 0, 0xc0]);
    const out = graph.output[0]!;
    expect(out.name).toBe("a.weight");
    expect(out.type!.tensor_type!.elem_type).toBe(10);
    expect(out.type!.tensor_type!.shape!.dim.map((d) => Number(int64Of(d.dim_value)))).toEqual([2, 1]);
  });

  it("raises the IR version to 9 only for FLOAT8", async () => {
    const f8 = { tensors: [makeTensor("q", "float8_e4m3fn", [2], bytesData(new Uint8Array([0x38, 0xc0])))], meta: {} };
    const bytes = await writeToMemory(f8);
    const back = await onnxFormat.read!(memorySource(bytes), {});
    expect(back.meta.ir_version).toBe(9);
    expect(Array.from(await back.tensors[0]!.data.read())).toEqual([0x38, 0xc0]);
  });

  it("externalData puts page-aligned tensors in '<out>.data' and reads back", async () => {
    const source = await readFixture("typed_tensors.onnx");
    const dir = await tempDir();
    const path = await writeToDir(source, dir, "w.onnx", { formatOptions: { onnx: { externalData: true } } });
    const side = join(dir, "w.onnx.data");
    const model = decodeModel(new Uint8Array(await readFile(path)), path);
    const entries = model.graph!.initializer.filter((t) => t.data_location === 1).map((t) => Object.fromEntries(t.external_data.map((e) => [e.key, e.value])));
    expect(entries.length).toBe(source.tensors.filter((t) => t.data.byteLength > 0).length);
    for (const e of entries) {
      expect(e.location).toBe("w.onnx.data");
      expect(Number(e.offset) % 4096).toBe(0);
    }
    const last = entries[entries.length - 1]!;
    expect((await stat(side)).size).toBe(Number(last.offset) + Number(last.length));
    const back = await onnxFormat.read!(await openFile(path), { keep });
    expect((await summary(back)).map((t) => t.sha256)).toEqual((await summary(source)).map((t) => t.sha256));
  });

  it("externalData without a way to open a side file is a usage error", async () => {
    const source = await readFixture("typed_tensors.onnx");
    const error = await onnxFormat.write!(source, new MemorySink("w.onnx"), { formatOptions: { onnx: { externalData: true } } }).catch((e) => e);
    expect(isWeightbridgeError(error) && error.code).toBe("usage");
    expect(error.message).toContain("'w.onnx.data'");
  });

  it("switches to a side file by itself when the weights pass protobuf's 2 GiB", async () => {
    const size = 2 ** 31;
    const zeros = new Uint8Array(16 << 20);
    const big = {
      name: "huge",
      dtype: "uint8" as const,
      shape: [size],
      data: {
        byteLength: size,
        read: () => Promise.reject(new Error("not read whole")),
        chunks: async function* (max: number) {
          for (let at = 0; at < size; at += zeros.byteLength) yield zeros.subarray(0, Math.min(max, zeros.byteLength, size - at));
        },
      },
    };
    const small = makeTensor("small", "float32", [1], bytesData(new Uint8Array(4)));
    const main = new MemorySink("big.onnx");
    const side = {
      name: "big.onnx.data",
      position: 0,
      async write(b: Uint8Array) {
        this.position += b.byteLength;
      },
      async commit() {},
      async abort() {},
    };
    const warnings: string[] = [];
    await onnxFormat.write!({ tensors: [small, big], meta: {} }, main, { siblingSink: async () => side, warn: (m) => warnings.push(m) });
    expect(warnings).toEqual(["ONNX weights pass protobuf's 2 GiB limit: writing them to the side file 'big.onnx.data'"]);
    expect(side.position).toBe(4096 + size);
    const model = decodeModel(main.bytes(), "big.onnx");
    const offsets = model.graph!.initializer.map((t) => Object.fromEntries(t.external_data.map((e) => [e.key, e.value])));
    expect(offsets).toEqual([
      { location: "big.onnx.data", offset: "0", length: "4" },
      { location: "big.onnx.data", offset: "4096", length: String(size) },
    ]);
  });

  it("output sniffs as ONNX", async () => {
    const bytes = await writeToMemory(await readFixture("typed_tensors.onnx"));
    const source = memorySource(bytes);
    expect(await onnxFormat.sniff(probeWithHead(source, bytes.subarray(0, 65536)))).toEqual({});
  });

  it("refuses duplicate and empty names", async () => {
    const t = makeTensor("x", "int8", [1], bytesData(new Uint8Array(1)));
    for (const tensors of [[t, t], [{ ...t, name: "" }]]) {
      const error = await onnxFormat.write!({ tensors, meta: {} }, new MemorySink(), {}).catch((e) => e);
      expect(isWeightbridgeError(error) && error.code).toBe("usage");
    }
  });
});
