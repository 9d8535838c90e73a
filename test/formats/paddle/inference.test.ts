import { readFileSync } from "node:fs";
import { probeWithHead } from "../../../src/io/probe.js";
import { describe, expect, it } from "vitest";
import { fileSource, memorySource, type ByteSource } from "../../../src/io/source.js";
import { MemorySink } from "../../../src/io/sink.js";
import { paddleInferenceFormat } from "../../../src/formats/paddle/inference-format.js";
import { readInference } from "../../../src/formats/paddle/inference-read.js";
import { writeInference } from "../../../src/formats/paddle/inference-write.js";
import { tensorRecordHeader } from "../../../src/formats/paddle/tensor-stream.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { Checkpoint } from "../../../src/tensor/checkpoint.js";
import { REAL, expected, summary } from "./helpers.js";

/** In-memory files with siblings, so tests can damage one file of a model. */
function files(contents: Record<string, Uint8Array>): (name: string) => ByteSource {
  const open = (name: string): ByteSource => {
    const bytes = contents[name];
    if (!bytes) throw new WeightbridgeError("io", "no such file", { file: name });
    return { ...memorySource(bytes, name), sibling: async (n: string) => open(n) };
  };
  return open;
}

async function failure(promise: Promise<unknown>): Promise<WeightbridgeError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(WeightbridgeError);
    return e as WeightbridgeError;
  }
  throw new Error("expected a WeightbridgeError");
}

function sniff(bytes: Uint8Array, name = "x") {
  return Promise.resolve(paddleInferenceFormat.sniff(probeWithHead(memorySource(bytes, name), bytes.subarray(0, 65536)))).then(Boolean);
}

describe("paddle-inference: the real jit.save model", () => {
  const real = () => ({
    "inference.pdmodel": readFileSync(`${REAL}inference.pdmodel`),
    "inference.pdiparams": readFileSync(`${REAL}inference.pdiparams`),
    "inference.pdiparams.info": readFileSync(`${REAL}inference.pdiparams.info`),
  });

  for (const entry of ["inference.pdmodel", "inference.pdiparams"]) {
    it(`reads bit-exact from ${entry} (against an independent Python walk of the stream)`, async () => {
      const source = await fileSource(`${REAL}${entry}`);
      const kept: ByteSource[] = [];
      try {
        const checkpoint = await readInference(source, { keep: (s) => kept.push(s) });
        const want = expected("real/inference.pdiparams");
        expect(await summary(checkpoint)).toEqual(want.map(({ framework_name: _, ...t }) => t));
        const table = checkpoint.meta["StructuredToParameterName@@"] as Record<string, string>;
        for (const t of want) expect(table[t.name]).toBe(t.framework_name);
        expect(checkpoint.meta.paddle_version).toBe("2.6.2");
        expect(checkpoint.warnings).toBeUndefined();
      } finally {
        for (const s of [source, ...kept]) await s.close();
      }
    });
  }

  it("takes layer kinds from the ops that consume each variable", async () => {
    const checkpoint = await readInference(files(real())("inference.pdmodel"), {});
    const kinds = new Map<string, number>();
    for (const t of checkpoint.tensors) kinds.set(t.layer!.kind!, (kinds.get(t.layer!.kind!) ?? 0) + 1);
    expect(Object.fromEntries(kinds)).toEqual({ batchnorm: 140, conv2d: 61, depthwise_conv2d: 11, linear: 2 });
    const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
    // the fc weight is matmul_v2's Y; its bias is the Y of the elementwise_add applied to that output
    const fc = [...byName.values()].filter((t) => t.layer?.kind === "linear");
    expect(fc.map((t) => [t.shape.length, t.layer!.className])).toEqual([
      [1, "matmul_v2"],
      [2, "matmul_v2"],
    ]);
    const mean = byName.get("base_model.conv.bn._mean")!;
    expect(mean.role).toBe("buffer");
    expect(mean.layer).toMatchObject({ kind: "batchnorm", path: "base_model.conv.bn", className: "batch_norm" });
  });

  it("writes a .pdiparams for the real .pdmodel that is byte-identical to Paddle's", async () => {
    const model = real();
    const open = files(model);
    const checkpoint = await readInference(open("inference.pdiparams"), {});
    const sink = new MemorySink("new.pdiparams");
    await writeInference(checkpoint, sink, { templateSource: open("inference.pdmodel") });
    expect(Buffer.from(sink.bytes()).equals(model["inference.pdiparams"])).toBe(true);
    const again = await readInference(files({ ...model, "inference.pdiparams": sink.bytes() })("inference.pdmodel"), {});
    expect(await summary(again)).toEqual(await summary(checkpoint));
  });

  it("finds tensors by framework name too (a checkpoint without .pdiparams.info names)", async () => {
    const { "inference.pdiparams.info": _, ...noInfo } = real();
    const checkpoint = await readInference(files(noInfo)("inference.pdmodel"), {});
    expect(checkpoint.tensors[0]!.name).toBe("batch_norm_0.b_0");
    const sink = new MemorySink("new.pdiparams");
    await writeInference(checkpoint, sink, { templateSource: files(real())("inference.pdmodel") });
    expect(Buffer.from(sink.bytes()).equals(noInfo["inference.pdiparams"])).toBe(true);
  });

  it("refuses tensors that do not match the program, naming the tensor", async () => {
    const open = files(real());
    const checkpoint = await readInference(open("inference.pdmodel"), {});
    const write = (c: Checkpoint, strict = false) => writeInference(c, new MemorySink("x.pdiparams"), { templateSource: open("inference.pdmodel"), strict });
    const swap = (name: string, make: (t: Checkpoint["tensors"][number]) => Checkpoint["tensors"][number]) => ({
      ...checkpoint,
      tensors: checkpoint.tensors.map((t) => (t.name === name ? make(t) : t)),
    });

    let e = await failure(write(swap("base_model.conv.bn.bias", (t) => makeTensor(t.name, "float32", [9], bytesData(new Uint8Array(36))))));
    expect([e.code, e.location.tensor]).toEqual(["template-mismatch", "batch_norm_0.b_0 (base_model.conv.bn.bias)"]);
    e = await failure(write(swap("base_model.conv.bn.bias", (t) => makeTensor(t.name, "float16", [8], bytesData(new Uint8Array(16))))));
    expect(e.code).toBe("template-mismatch");
    expect(e.message).toContain("float16");
    e = await failure(write({ ...checkpoint, tensors: checkpoint.tensors.filter((t) => t.name !== "base_model.conv.bn._mean") }));
    expect([e.code, e.location.tensor]).toEqual(["template-mismatch", "batch_norm_0.w_1 (base_model.conv.bn._mean)"]);
    const extra = { ...checkpoint, tensors: [...checkpoint.tensors, makeTensor("stray", "float32", [1], bytesData(new Uint8Array(4)))] };
    e = await failure(write(extra, true));
    expect(e.code).toBe("template-mismatch");
    expect(e.message).toContain("stray");
  });

  it("damaged or mismatched .pdiparams give WeightbridgeErrors", async () => {
    const model = real();
    const params = model["inference.pdiparams"];
    for (const cut of [1, 12, 20, 30, 1000, params.length - 1]) {
      const e = await failure(readInference(files({ ...model, "inference.pdiparams": params.subarray(0, cut) })("inference.pdmodel"), {}));
      expect(["truncated", "corrupt"]).toContain(e.code);
    }
    const longer = new Uint8Array(params.length + 7);
    longer.set(params);
    const e = await failure(readInference(files({ ...model, "inference.pdiparams": longer })("inference.pdmodel"), {}));
    expect(e.message).toContain("7 bytes remain");
    const hostile = Uint8Array.from(params);
    hostile.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 4); // lod level count 2^63-1
    expect((await failure(readInference(files({ ...model, "inference.pdiparams": hostile })("inference.pdmodel"), {}))).code).toBe("corrupt");
    const noParams = { "inference.pdmodel": model["inference.pdmodel"] };
    expect((await failure(readInference(files(noParams)("inference.pdmodel"), {}))).code).toBe("unsupported");
    const lonely = { "inference.pdiparams": params };
    expect((await failure(readInference(files(lonely)("inference.pdiparams"), {}))).message).toContain(".pdmodel");
  });

  it("sniffs both files and nothing else", async () => {
    const model = real();
    expect(await sniff(model["inference.pdmodel"], "a")).toBe(true);
    expect(await sniff(model["inference.pdiparams"], "b")).toBe(true);
    expect(await sniff(model["inference.pdiparams.info"], "c")).toBe(false);
    expect(await sniff(model["inference.pdmodel"].subarray(0, 5000))).toBe(false);
  });
});

describe("paddle-inference: small cases", () => {
  it("random bytes, zeros and JSON are not an inference model", async () => {
    let seed = 1;
    for (let n = 0; n < 50; n++) {
      const noise = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
      noise[0] = 0x0a;
      expect(await sniff(noise)).toBe(false);
    }
    expect(await sniff(new Uint8Array(4096))).toBe(false);
    expect(await sniff(new TextEncoder().encode('{"a": 1}'))).toBe(false);
  });

  it("writes record headers exactly as Paddle's C++ does (dims unpacked)", () => {
    expect([...tensorRecordHeader(5, [784, 100])]).toEqual([...new Uint8Array(16), 7, 0, 0, 0, 0x08, 0x05, 0x10, 0x90, 0x06, 0x10, 0x64]);
    expect([...tensorRecordHeader(5, [10])].slice(16)).toEqual([4, 0, 0, 0, 0x08, 0x05, 0x10, 0x0a]);
  });

  it("reads a Paddle 3 PIR program's parameter list (layout per the reference; no real file available)", async () => {
    const pir = {
      base_code: { magic: "pir", version: 1, trainable: false },
      program: {
        regions: [
          {
            "#": "region_0",
            blocks: [
              {
                "#": "block_0",
                args: [],
                ops: [
                  {
                    "#": "p",
                    A: [0, 1, 1, "linear_0.w_0"],
                    O: { "%": 1, TT: { "#": "0.t_dtensor", D: [{ "#": "0.t_f32" }, [2, 3], "NCHW", [], 0] } },
                    OA: [1, 0, 1],
                  },
                  {
                    "#": "p",
                    A: [0, 1, 1, "linear_0.b_0"],
                    O: { "%": 2, TT: { "#": "0.t_dtensor", D: [{ "#": "0.t_f32" }, [3], "NCHW", [], 0] } },
                    OA: [1, 0, 1],
                  },
                  { "#": "1.matmul", I: [{ "%": 3 }, { "%": 1 }], O: [{ "%": 4 }] },
                ],
              },
            ],
          },
        ],
      },
    };
    const w = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([7, 8, 9]);
    const record = (shape: number[], data: Float32Array) => [tensorRecordHeader(5, shape), new Uint8Array(data.buffer)];
    const params = Buffer.concat([...record([3], b), ...record([2, 3], w)]); // sorted: b_0 before w_0
    const json = new TextEncoder().encode(JSON.stringify(pir));
    const open = files({ "m.json": json, "m.pdiparams": params });
    expect(await sniff(json, "m.json")).toBe(true);
    for (const entry of ["m.json", "m.pdiparams"]) {
      const checkpoint = await readInference(open(entry), {});
      expect(checkpoint.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
        ["linear_0.b_0", "float32", [3]],
        ["linear_0.w_0", "float32", [2, 3]],
      ]);
      expect(new Float32Array(Uint8Array.from(await checkpoint.tensors[1]!.data.read()).buffer)).toEqual(w);
    }
  });
});
