import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeBytes } from "../../src/api/write.js";
import { read } from "../../src/api/open.js";
import { writeKerasGraph } from "../../src/api/convert-graph.js";
import { atomicFileSink, type ByteSink } from "../../src/io/sink.js";
import { bytesData, makeTensor, type Tensor, type TensorData } from "../../src/tensor/tensor.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import { StreamDigests, referenceTensors } from "../../src/verify/whole-model/written-weights.js";
import { seeded, sequential } from "./keras-onnx-harness.js";

// The default check's reference layers take the weights the writer copied unchanged from the
// written file, trusting those bytes only when they hash as the source's did while the writer
// streamed them: the source is read once. A written weight that is not the source's must still
// be refused, and the file not written.

const dir = mkdtempSync(join(tmpdir(), "wb-keras-onnx-written-"));

function weight(name: string, shape: number[], seed: number): Tensor {
  const random = seeded(seed);
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random(-0.5, 0.5));
  return makeTensor(name, "float32", shape, bytesData(new Uint8Array(values.buffer)));
}

// Kernels of 40×32 floats (5 KiB): big enough to be fed to onnxruntime as inputs, not kept in the piece's model.
const config = sequential(
  "ww",
  [40],
  [
    ["Dense", { units: 32, activation: "tanh" }],
    ["Dense", { units: 32, activation: "tanh" }],
  ],
);
const weights = [
  weight("ww_0_dense/kernel:0", [40, 32], 1),
  weight("ww_0_dense/bias:0", [32], 2),
  weight("ww_1_dense/kernel:0", [32, 32], 3),
  weight("ww_1_dense/bias:0", [32], 4),
];

async function source(name: string): Promise<Checkpoint & { close(): Promise<void> }> {
  const path = join(dir, `${name}.h5`);
  writeFileSync(path, await writeBytes({ tensors: weights, meta: { model_config: config, keras_version: "2.15.0", backend: "tensorflow" } }, "keras-h5"));
  return read(path);
}

/** A file sink that changes one bit of the tensor bytes equal to `target` on their way out (a writer that miscopies a weight). */
async function miscopying(path: string, target: Uint8Array): Promise<ByteSink> {
  const sink = await atomicFileSink(path);
  const write = sink.write.bind(sink);
  return Object.assign(sink, {
    write(bytes: Uint8Array) {
      if (!Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(Buffer.from(target))) return write(bytes);
      const changed = Uint8Array.from(bytes);
      changed[3]! ^= 0x80; // the first float's sign
      return write(changed);
    },
  });
}

/** `t` with data that counts the complete passes over its bytes. */
function counted(t: Tensor, reads: Map<string, number>): Tensor {
  const inner = t.data;
  const done = () => reads.set(t.name, (reads.get(t.name) ?? 0) + 1);
  const data: TensorData = {
    byteLength: inner.byteLength,
    async read() {
      const bytes = await inner.read();
      done();
      return bytes;
    },
    async *chunks(maxBytes: number) {
      yield* inner.chunks(maxBytes);
      done();
    },
  };
  return { ...t, data };
}

describe("the default check reads the weights written unchanged back from the written file", () => {
  it("reads each source tensor once (the writer's pass) and agrees", async () => {
    const src = await source("once");
    try {
      const reads = new Map<string, number>();
      const checkpoint = { ...src, tensors: src.tensors.map((t) => counted(t, reads)) };
      const out = join(dir, "once.onnx");
      const written = await writeKerasGraph(checkpoint, config, out, {});
      expect(written.wholeModel).toMatchObject({ verdict: "agrees" });
      expect(written.wholeModel!.maxRel!).toBeLessThan(1e-5);
      expect(Object.fromEntries(reads)).toEqual(Object.fromEntries(weights.map((w) => [w.name, 1])));
      expect(existsSync(out)).toBe(true);
    } finally {
      await src.close();
    }
  }, 120_000);

  it("refuses a written weight whose bytes are not the source's, naming it; nothing written", async () => {
    const src = await source("miscopied");
    try {
      const out = join(dir, "miscopied.onnx");
      const kernel = await weights[2]!.data.read();
      await expect(writeKerasGraph(src, config, out, { openSink: (p) => miscopying(p, kernel) })).rejects.toThrow(
        /computes something else than the Keras model \(the written initializer ww_1_dense\/kernel:0 is not the source's ww_1_dense\/kernel:0: their bytes differ.*nothing written/,
      );
      expect(existsSync(out)).toBe(false);
    } finally {
      await src.close();
    }
  }, 120_000);

  it("a tensor whose two reads gave different bytes gets no digest: the reference reads the source", async () => {
    const digests = await StreamDigests.create();
    let pass = 0;
    const t = weight("w/kernel:0", [4, 4], 5);
    const flaky: Tensor = { ...t, data: { ...t.data, byteLength: 64, read: async () => new Uint8Array(64).fill(pass++) } };
    const watched = digests.watched(flaky);
    await watched.data.read();
    expect(digests.digestOf(flaky)).toMatch(/^[0-9a-f]{64}$/);
    await watched.data.read();
    expect(digests.digestOf(flaky)).toBeUndefined();
    const graph = { name: "g", opset: 17, inputs: [], outputs: [], nodes: [], initializers: [t] };
    const [reference] = await referenceTensors([flaky], graph, digests);
    expect(reference).toBe(flaky);
  });
});
