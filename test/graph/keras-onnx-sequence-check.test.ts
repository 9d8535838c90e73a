import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../src/api/open.js";
import { writeBytes } from "../../src/api/write.js";
import { convert } from "../../src/api/convert.js";
import { verify } from "../../src/api/verify.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import { checkWrittenAtEnd, DIR, functional, runCase, seeded, sequential, WRITTEN } from "./keras-onnx-harness.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";

// Sequence models under convert's default whole-model check: Embedding ids, recurrent layers
// (go_backwards, both GRU bias layouts, Bidirectional merges) composed from the reference layers
// must agree with the written graph, and a graph that runs two same-shaped recurrent layers in
// the wrong order must be caught by the composed check.

const SIG = { recurrent_activation: "sigmoid" };
const lstm = (name: string, extra: Record<string, unknown>) => ({ class_name: "LSTM", config: { name, units: 3, ...SIG, ...extra } });

const text = () =>
  sequential(
    "text",
    [6],
    [
      ["Embedding", { input_dim: 11, output_dim: 3, mask_zero: true }],
      ["Bidirectional", { merge_mode: "sum", layer: lstm("enc", { return_sequences: true }) }],
      ["GRU", { units: 3, reset_after: false, go_backwards: true, return_sequences: true, ...SIG }],
      ["SimpleRNN", { units: 3, go_backwards: true, activation: "relu" }],
      ["Dense", { units: 2 }],
    ],
  );

const twoLstms = () =>
  sequential(
    "pair",
    [5, 3],
    [
      ["LSTM", { units: 3, return_sequences: true, ...SIG }],
      ["LSTM", { units: 3, return_sequences: true, ...SIG }],
      ["Bidirectional", { layer: lstm("last", {}) }],
    ],
  );

/** A model.save .h5 of `config` with seeded weights of the given shapes (a layer tfjs has not: MultiHeadAttention). */
async function savedModel(name: string, config: JsonValue, shapes: Record<string, number[]>): Promise<string> {
  const random = seeded(7);
  const tensors = Object.entries(shapes).map(([n, shape]) => {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random(-0.5, 0.5));
    return makeTensor(n, "float32", shape, bytesData(new Uint8Array(values.buffer)));
  });
  const path = join(DIR, `${name}.h5`);
  writeFileSync(path, await writeBytes({ tensors, meta: { model_config: config, keras_version: "2.15.0", backend: "tensorflow" } }, "keras-h5"));
  return path;
}

const ATTENTION = functional(
  "attn",
  [{ name: "x", shape: [5, 4] }],
  [
    { cls: "MultiHeadAttention", name: "mha", config: { num_heads: 2, key_dim: 3 }, calls: [["x", "x"]] },
    { cls: "Add", name: "res", calls: [["mha", "x"]] },
    { cls: "LayerNormalization", name: "ln", config: { epsilon: 1e-3 }, calls: [["res"]] },
    { cls: "Dense", name: "head", config: { units: 3 }, calls: [["ln"]] },
  ],
  ["head"],
);
const ATTENTION_WEIGHTS: Record<string, number[]> = {
  "mha/query/kernel:0": [4, 2, 3],
  "mha/query/bias:0": [2, 3],
  "mha/key/kernel:0": [4, 2, 3],
  "mha/key/bias:0": [2, 3],
  "mha/value/kernel:0": [4, 2, 3],
  "mha/value/bias:0": [2, 3],
  "mha/attention_output/kernel:0": [2, 3, 4],
  "mha/attention_output/bias:0": [4],
  "ln/gamma:0": [4],
  "ln/beta:0": [4],
  "head/kernel:0": [4, 3],
  "head/bias:0": [3],
};

describe("the whole-model check computes sequence models", () => {
  it("Embedding(mask_zero) → Bidirectional LSTM → GRU and SimpleRNN going backwards → Dense: the check agrees, and so does TF.js", async () => {
    // Ids from 1: TF.js and Keras differ on masked steps (the masking tests cover those).
    const r = await runCase("seq_text", text(), { feed: (_, shape) => Array.from({ length: shape[0]! * shape[1]! }, (_, i) => 1 + ((i * 7) % 10)) });
    expect(r.check).toEqual({ verdict: "agrees" });
    expect(r.checkNotes?.join()).toMatch(/text_in: Embedding ids over the table's rows/);
    expect(r.scale).toBeGreaterThan(1e-3);
    expect(r.maxRel, `max abs ${r.maxAbs}`).toBeLessThan(1e-4);
  }, 240_000);

  it("return_state: an LSTM's output, h and c, and a Bidirectional LSTM's five values: the check agrees, and so does TF.js", async () => {
    const config = functional(
      "states",
      [{ name: "seq", shape: [5, 3] }],
      [
        { cls: "LSTM", name: "enc", config: { units: 3, return_state: true, go_backwards: true, ...SIG }, calls: [["seq"]] },
        {
          cls: "Bidirectional",
          name: "bi",
          config: { merge_mode: "ave", layer: lstm("bi_lstm", { return_state: true, return_sequences: true }) },
          calls: [["seq"]],
        },
      ],
      ["enc#0", "enc#1", "enc#2", "bi#0", "bi#1", "bi#2", "bi#3", "bi#4"],
    );
    const r = await runCase("seq_states", config);
    expect(r.outputs).toBe(8);
    expect(r.check).toEqual({ verdict: "agrees" });
    expect(r.maxRel, `max abs ${r.maxAbs}`).toBeLessThan(1e-4);
  }, 240_000);

  it("two same-shaped LSTMs swapped in the graph: the composed check disagrees", async () => {
    const r = await runCase("seq_pair", twoLstms());
    expect(r.check).toEqual({ verdict: "agrees" });
    // The same file with the two layers' weights exchanged, converted without the check: what a converter that mixed them up would write.
    const source = join(DIR, "seq_pair.h5");
    const original = await read(source);
    const [first, second] = ["pair_0_lstm", "pair_1_lstm"];
    const swap = (name: string) =>
      name.startsWith(`${first}/`) ? name.replace(first, second) : name.startsWith(`${second}/`) ? name.replace(second, first) : name;
    const swapped = join(DIR, "seq_pair_swapped.h5");
    try {
      const tensors = original.tensors.map((t) => makeTensor(swap(t.name), t.dtype, [...t.shape], t.data));
      expect(original.tensors.filter((t) => t.name !== swap(t.name))).toHaveLength(6);
      writeFileSync(swapped, await writeBytes({ tensors, meta: original.meta }, "keras-h5"));
    } finally {
      await original.close();
    }
    const wrong = join(DIR, "seq_pair_wrong.onnx");
    await convert(swapped, wrong, { force: true, verify: false });
    const outcome = await verify(source, wrong);
    expect(outcome.wholeModel?.verdict, JSON.stringify(outcome.wholeModel)).toBe("disagrees");
    expect(outcome.wholeModel!.maxRel!).toBeGreaterThan(1e-2);
    expect(outcome.ok).toBe(false);
  }, 240_000);

  it("self-attention (MultiHeadAttention(x, x)) → residual → LayerNormalization → Dense: agrees; with value and query kernels exchanged it disagrees", async () => {
    const source = await savedModel("attn", ATTENTION, ATTENTION_WEIGHTS);
    const out = join(DIR, "attn.onnx");
    const report = await convert(source, out, { force: true });
    WRITTEN.push(out);
    expect(report.verification?.wholeModel?.verdict, JSON.stringify(report.verification?.wholeModel)).toBe("agrees");
    const original = await read(source);
    const swapped = join(DIR, "attn_swapped.h5");
    try {
      const exchange = (n: string) => n.replace(/\/(query|value)\//, (_, p: string) => (p === "query" ? "/value/" : "/query/"));
      const tensors = original.tensors.map((t) => makeTensor(exchange(t.name), t.dtype, [...t.shape], t.data));
      writeFileSync(swapped, await writeBytes({ tensors, meta: original.meta }, "keras-h5"));
    } finally {
      await original.close();
    }
    const wrong = join(DIR, "attn_wrong.onnx");
    await convert(swapped, wrong, { force: true, verify: false });
    const outcome = await verify(source, wrong);
    expect(outcome.wholeModel?.verdict, outcome.summary).toBe("disagrees");
  }, 240_000);
});

checkWrittenAtEnd();
