import { describe, expect, it } from "vitest";
import { probeWithHead } from "../../../src/io/probe.js";
import { memorySource } from "../../../src/io/source.js";
import { onnxFormat } from "../../../src/formats/onnx/format.js";
import { FIXTURES, FIXTURE_FILES, expectedFor, readFixture, summary, openFile, keep } from "./helpers.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// Each fixture read whole against its expected JSON: ../fixtures.test.ts.
describe("big inline files are read as a skeleton (raw_data left in the file)", () => {
  for (const file of FIXTURE_FILES) {
    it(`${file}: the same tensors, bit-exact, as reading the whole file`, async () => {
      const { readOnnxModel } = await import("../../../src/formats/onnx/read.js");
      const checkpoint = await readOnnxModel(await openFile(join(FIXTURES, file)), { keep }, 0, 1);
      expect(await summary(checkpoint)).toEqual(expectedFor(file).tensors);
    });
  }
});

describe("onnx layer hints and warnings", () => {
  it("hints conv2d, lstm, MatMul/Add linear and Gemm transB in a torch 1.13 export", async () => {
    const c = await readFixture("torch_conv_lstm.onnx");
    const layer = (name: string) => c.tensors.find((t) => t.name === name)!.layer;
    expect(layer("onnx::Conv_117")).toEqual({ kind: "conv2d", framework: "onnx", className: "Conv", path: "conv", attributes: { group: 1, input: "W" } });
    expect(layer("onnx::Conv_118")).toMatchObject({ kind: "conv2d", attributes: { input: "B" } });
    expect(layer("onnx::LSTM_136")).toMatchObject({ kind: "lstm", className: "LSTM", path: "lstm", attributes: { hidden_size: 5, input: "W" } });
    expect(layer("onnx::LSTM_138")).toMatchObject({ kind: "lstm", attributes: { input: "B" } });
    expect(layer("onnx::MatMul_141")).toMatchObject({ kind: "linear", className: "MatMul", path: "proj" });
    expect(layer("proj.bias")).toMatchObject({ kind: "linear", className: "Add", path: "proj" });
    expect(layer("head.weight")).toMatchObject({ kind: "linear", className: "Gemm", path: "head", attributes: { transB: 1, input: "B" } });
    expect(layer("head.bias")).toMatchObject({ kind: "linear", attributes: { input: "C" } });
    expect(c.warnings).toContain(
      "initializer 'onnx::Conv_117' has an exporter-made name (used by node '/conv/Conv' (Conv)): it may be a fused or transposed derivative, not an original parameter",
    );
    expect(c.warnings!.some((w) => w.includes("'head.weight'"))).toBe(false);
    expect(c.tensors.filter((t) => t.role === "constant").length).toBeGreaterThan(0);
    expect(c.meta).toMatchObject({ ir_version: 8, opset: 17, producer_name: "pytorch", producer_version: "1.13.0", graph_name: "torch_jit" });
  });

  it("hints embedding (Gather), gru and conv1d", async () => {
    const c = await readFixture("torch_embed_gru.onnx");
    const layer = (name: string) => c.tensors.find((t) => t.name === name)!.layer;
    expect(layer("emb.weight")).toMatchObject({ kind: "embedding", className: "Gather", path: "emb" });
    expect(layer("conv1.weight")).toMatchObject({ kind: "conv1d", path: "conv1" });
    expect(layer("conv1.bias")).toMatchObject({ kind: "conv1d", attributes: { input: "B" } });
    expect(layer("onnx::GRU_106")).toMatchObject({ kind: "gru", attributes: { input: "R", hidden_size: 3, linear_before_reset: 1 } });
  });

  it("reports densified sparse initializers", async () => {
    const c = await readFixture("typed_tensors.onnx");
    expect(c.warnings).toContain("sparse initializer 'sparse_linear' read as a dense tensor (3 stored values)");
    const dense = await c.tensors.find((t) => t.name === "sparse_linear")!.data.read();
    expect(Array.from(new Float32Array(dense.slice().buffer))).toEqual([1, 0, 0, 0, 0, 2, 0, 3]);
  });

  it("references raw_data by byte range in the file", async () => {
    const bytes = readFileSync(join(FIXTURES, "torch_conv_lstm.onnx"));
    const source = memorySource(new Uint8Array(bytes), "m.onnx");
    const reads: Array<[number, number]> = [];
    const spy = { ...source, read: (o: number, l: number) => (reads.push([o, l]), source.read(o, l)) };
    const c = await onnxFormat.read!(spy, {});
    reads.length = 0;
    const w = c.tensors.find((t) => t.name === "head.weight")!;
    const got = await w.data.read();
    expect(reads).toEqual([[reads[0]![0], 72]]);
    expect(Buffer.from(bytes.subarray(reads[0]![0], reads[0]![0] + 72)).equals(Buffer.from(got))).toBe(true);
  });
});

describe("onnx sniffing", () => {
  it("recognises every fixture and nothing else", async () => {
    for (const file of FIXTURE_FILES) {
      const source = await openFile(join(FIXTURES, file));
      const head = await source.read(0, Math.min(source.size, 64 << 10));
      expect(await onnxFormat.sniff(probeWithHead(source, head))).toEqual({});
      // A head cut inside the graph still sniffs as ONNX.
      expect(await onnxFormat.sniff(probeWithHead(source, head.subarray(0, 40)))).toEqual({});
      await source.close();
    }
    const others = [
      new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]), // zip
      new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00]), // pickle
      new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), // HDF5
      new Uint8Array([0x08, 0x01, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]), // safetensors, 8-byte header length
    ];
    for (const head of others) {
      expect(await onnxFormat.sniff(probeWithHead(memorySource(head, "x"), head, head.byteLength + 1000))).toBe(false);
    }
  });
});
