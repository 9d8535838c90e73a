import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../src/api/open.js";
import { writeBytes } from "../../src/api/write.js";
import { convert } from "../../src/api/convert.js";
import { verify } from "../../src/api/verify.js";
import { makeTensor } from "../../src/tensor/tensor.js";
import { checkWrittenAtEnd, DIR, runCase, sequential } from "./keras-onnx-harness.js";

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

describe("the whole-model check computes sequence models", () => {
  it("Embedding(mask_zero) → Bidirectional LSTM → GRU and SimpleRNN going backwards → Dense: the check agrees, and so does TF.js", async () => {
    // Ids from 1: TF.js and Keras differ on masked steps (the masking tests cover those).
    const r = await runCase("seq_text", text(), { feed: (_, shape) => Array.from({ length: shape[0]! * shape[1]! }, (_, i) => 1 + ((i * 7) % 10)) });
    expect(r.check).toEqual({ verdict: "agrees" });
    expect(r.checkNotes?.join()).toMatch(/text_in: Embedding ids over the table's rows/);
    expect(r.scale).toBeGreaterThan(1e-3);
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
});

checkWrittenAtEnd();
