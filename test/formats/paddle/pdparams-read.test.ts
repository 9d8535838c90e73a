import { readFileSync } from "node:fs";
import { probeWithHead } from "../../../src/io/probe.js";
import { describe, expect, it } from "vitest";
import { memorySource, type ByteSource } from "../../../src/io/source.js";
import { readPdparams } from "../../../src/formats/paddle/pdparams-read.js";
import { paddleFormat } from "../../../src/formats/paddle/pdparams-format.js";
import { WeightbridgeError } from "../../../src/errors.js";
import { FIXTURES, REAL, expected, summary } from "./helpers.js";

function fixture(file: string): ByteSource {
  return memorySource(readFileSync(`${FIXTURES}${file}`), file.split("/").pop()!);
}

// Every paddle fixture is read from its file against its expected JSON in ../fixtures.test.ts.
describe("paddle pickles: the real protocol-2 file", () => {
  it("mlp_protocol2.pdparams (_codecs.encode bytes) keeps its name table", async () => {
    const checkpoint = await readPdparams(fixture("real/mlp_protocol2.pdparams"));
    expect(await summary(checkpoint)).toEqual(expected("real/mlp_protocol2.pdparams"));
    expect(checkpoint.meta["StructuredToParameterName@@"]).toEqual({
      "1.weight": "linear_0.w_0",
      "1.bias": "linear_0.b_0",
      "4.weight": "linear_1.w_0",
      "4.bias": "linear_1.b_0",
    });
  });
});

describe("paddle pickles: names, hints and meta", () => {
  it("keeps the real name table in meta and uses it for layer hints", async () => {
    const checkpoint = await readPdparams(fixture("real/mnist.pdparams"));
    expect(checkpoint.meta).toEqual({ "StructuredToParameterName@@": { "fc.weight": "linear_0.w_0", "fc.bias": "linear_0.b_0" } });
    expect(checkpoint.tensors.map((t) => [t.name, t.layer?.kind, t.layer?.path])).toEqual([
      ["fc.weight", "linear", "fc"],
      ["fc.bias", "linear", "fc"],
    ]);
  });

  it("reads u2 as bfloat16 and hints each layer kind from framework names", async () => {
    const checkpoint = await readPdparams(fixture("dtypes_protocol4.pdparams"));
    const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
    expect(byName.get("fc.weight")!.dtype).toBe("bfloat16");
    expect(byName.get("half")!.dtype).toBe("float16");
    expect(byName.get("conv.weight")!.layer?.kind).toBe("conv2d");
    expect(byName.get("bn._mean")!.layer?.kind).toBe("batchnorm");
    expect(byName.get("emb.weight")!.layer?.kind).toBe("embedding");
    expect(byName.get("scalar")!.shape).toEqual([]);
    expect(byName.get("empty")!.shape).toEqual([0, 4]);
    expect(byName.get("i64")!.layer).toBeUndefined();
  });

  it("references protocol-4 array bytes in the file instead of copying them", async () => {
    const bytes = readFileSync(`${REAL}mnist.pdparams`);
    const reads: Array<[number, number]> = [];
    const inner = memorySource(bytes, "mnist.pdparams");
    const counting: ByteSource = { ...inner, name: inner.name, size: inner.size, read: (o, l) => (reads.push([o, l]), inner.read(o, l)) };
    const checkpoint = await readPdparams(counting);
    reads.length = 0;
    const weight = checkpoint.tensors[0]!;
    const data = await weight.data.read();
    expect(reads).toHaveLength(1);
    const [offset, length] = reads[0]!;
    expect(length).toBe(784 * 4);
    expect(bytes[offset - 5]).toBe(0x42); // BINBYTES opcode, then the u32 length, then the data
    expect(Buffer.from(data).equals(bytes.subarray(offset, offset + length))).toBe(true);
  });

  it("unwraps (name, ndarray) tuples, eval('data', ...) and keeps LR_Scheduler as meta", async () => {
    const checkpoint = await readPdparams(fixture("adam_amp.pdopt"));
    expect(checkpoint.meta).toEqual({ LR_Scheduler: { last_epoch: 3, last_lr: 0.001, gamma: 0.5 } });
    const master = checkpoint.tensors.find((t) => t.name === "master_weights.linear_0.w_0")!;
    expect(master.role).toBe("optimizer-state");
    expect(checkpoint.tensors.find((t) => t.name === "linear_0.w_0_moment1_0")!.role).toBe("optimizer-state");
    expect(checkpoint.tensors.find((t) => t.name === "static_var")!.dtype).toBe("int64");
    const entry = checkpoint.structure?.type === "dict" ? checkpoint.structure.entries[0] : undefined;
    expect(entry?.value).toEqual({
      type: "tuple",
      items: [
        { type: "value", value: "linear_0.w_0_moment1_0" },
        { type: "tensor", name: "linear_0.w_0_moment1_0" },
      ],
    });
  });

  it("reassembles UnpackBigParamInfor@@ slices in place of the first slice", async () => {
    const checkpoint = await readPdparams(fixture("split_protocol2.pdparams"));
    expect(checkpoint.tensors.map((t) => [t.name, t.shape])).toEqual([
      ["w", [3, 4]],
      ["b", [4]],
    ]);
    expect(Object.keys(checkpoint.meta)).toEqual(["StructuredToParameterName@@"]);
  });

  it("sniffs numpy pickles and leaves other pickles alone", () => {
    const sniff = (bytes: Uint8Array, name: string) => Boolean(paddleFormat.sniff(probeWithHead(memorySource(bytes, name), bytes)));
    expect(sniff(readFileSync(`${REAL}mnist.pdparams`), "x.bin")).toBe(true);
    expect(sniff(Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]), "x.bin")).toBe(false);
    expect(sniff(Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]), "x.pdopt")).toBe(true);
  });
});

describe("paddle pickles: hostile and damaged input", () => {
  const mnist = readFileSync(`${REAL}mnist.pdparams`);

  async function failure(bytes: Uint8Array): Promise<WeightbridgeError> {
    try {
      await readPdparams(memorySource(bytes, "bad.pdparams"));
    } catch (e) {
      expect(e).toBeInstanceOf(WeightbridgeError);
      return e as WeightbridgeError;
    }
    throw new Error("expected a WeightbridgeError");
  }

  it("every truncation of a real file is a WeightbridgeError", async () => {
    for (const cut of [0, 1, 2, 10, 50, 200, 400, 1000, 3000, mnist.length - 1]) await failure(mnist.subarray(0, cut));
  });

  it("refuses a pickle that would run code", async () => {
    // protocol 2: cos\nsystem\n(S'echo hi'\ntR.
    const evil = Buffer.from("\x80\x02cos\nsystem\n(S'echo hi'\ntR.", "latin1");
    expect((await failure(evil)).code).toBe("unsafe-pickle");
  });

  it("rejects an array whose data does not match its shape", async () => {
    // The fc.bias array is [1] float32 (4 bytes); claim shape (2,) instead.
    const bad = Buffer.from(mnist);
    const text = bad.toString("latin1");
    const biasKey = text.indexOf("fc.bias");
    const shapeAt = text.indexOf("K\x01\x85", biasKey); // BININT1 1, TUPLE1
    expect(shapeAt).toBeGreaterThan(0);
    bad[shapeAt + 1] = 2;
    const e = await failure(bad);
    expect(e.code).toBe("corrupt");
    expect(e.location.tensor).toBe("fc.bias");
  });

  it("rejects a split whose slices do not add up", async () => {
    const bytes = readFileSync(`${FIXTURES}split_protocol2.pdparams`);
    const at = bytes.toString("latin1").indexOf("OriginShapeq:K\x03K\x04");
    expect(at).toBeGreaterThan(0);
    const bad = Buffer.from(bytes);
    bad[at + 15] = 5; // OriginShape (3, 4) -> (5, 4): the slices hold 12 elements, not 20
    expect((await failure(bad)).code).toBe("corrupt");
  });

  it("random bytes are not a paddle pickle", async () => {
    let seed = 7;
    const noise = Uint8Array.from({ length: 512 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    noise[0] = 0x80;
    noise[1] = 0x04;
    await failure(noise);
  });
});
