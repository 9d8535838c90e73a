import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { checkWrittenAtEnd, functional, runCase, sequential, type CaseOptions } from "./keras-onnx-harness.js";

// Masks: Embedding(mask_zero=True) and Masking feeding LSTM, GRU, SimpleRNN and Bidirectional,
// run in TensorFlow.js and, converted, in onnxruntime on token rows padded at the end, at the
// start, with holes in the middle, unpadded and wholly masked.

const TOLERANCE = 1e-4;
const SIG = { recurrent_activation: "sigmoid" };

const TOKENS = [
  [3, 1, 0, 2, 0, 0],
  [0, 0, 4, 2, 5, 1],
  [2, 3, 4, 5, 6, 1],
  [0, 5, 0, 3, 0, 6],
  [0, 0, 0, 0, 0, 0],
];
const tokens: CaseOptions = { batch: TOKENS.length, feed: () => TOKENS.flat() };
const embedding = ["Embedding", { input_dim: 7, output_dim: 4, mask_zero: true }] as [string, Record<string, unknown>];

/**
 * Keras' Bidirectional forces zero_output_for_mask when it returns sequences (masked steps output
 * zeros); tfjs carries the last output over instead. Keras' outputs: tfjs' with the masked steps zeroed.
 */
const zeroMaskedSteps: CaseOptions["asKeras"] = (outputs, inputs) =>
  outputs.map((y) => tf.mul(y, tf.expandDims(tf.cast(tf.notEqual(inputs[0]!, 0), "float32"), -1)));

const bidi = (cls: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ["Bidirectional", { ...extra, layer: { class_name: cls, config: { name: `${cls.toLowerCase()}_in`, ...config } } }] as [string, Record<string, unknown>];

const CASES: Record<string, [() => ReturnType<typeof sequential>, CaseOptions]> = {
  lstm_last_output: [() => sequential("m_lstm", [6], [embedding, ["LSTM", { units: 5, ...SIG }]]), tokens],
  lstm_gru_stacked_sequences: [
    () =>
      sequential(
        "m_stack",
        [6],
        [embedding, ["LSTM", { units: 4, return_sequences: true, ...SIG }], ["Dropout", { rate: 0.5 }], ["GRU", { units: 3, reset_after: false, ...SIG }]],
      ),
    tokens,
  ],
  gru_sequences_through_dense: [
    () =>
      sequential(
        "m_gru",
        [6],
        [embedding, ["GRU", { units: 4, reset_after: false, return_sequences: true, ...SIG }], ["Dense", { units: 3, activation: "tanh" }]],
      ),
    tokens,
  ],
  simple_rnn_go_backwards_sequences: [
    () => sequential("m_rnn_b", [6], [embedding, ["SimpleRNN", { units: 4, go_backwards: true, return_sequences: true }]]),
    tokens,
  ],
  lstm_go_backwards_last_output: [() => sequential("m_lstm_b", [6], [embedding, ["LSTM", { units: 3, go_backwards: true, ...SIG }]]), tokens],
  bidirectional_lstm_sequences: [
    () => sequential("m_bidi", [6], [embedding, bidi("LSTM", { units: 3, return_sequences: true, ...SIG })]),
    { ...tokens, asKeras: zeroMaskedSteps },
  ],
  bidirectional_gru_sum_last_output: [
    () => sequential("m_bidi_sum", [6], [embedding, bidi("GRU", { units: 3, reset_after: false, ...SIG }, { merge_mode: "sum" })]),
    tokens,
  ],
  bidirectional_return_state: [
    () =>
      functional(
        "m_bidi_state",
        [{ name: "tokens", shape: [6], dtype: "int32" }],
        [
          { cls: "Embedding", name: "emb", config: { input_dim: 7, output_dim: 4, mask_zero: true }, calls: [["tokens"]] },
          {
            cls: "Bidirectional",
            name: "enc",
            config: { merge_mode: "concat", layer: { class_name: "LSTM", config: { name: "enc_lstm", units: 3, return_state: true, ...SIG } } },
            calls: [["emb"]],
          },
        ],
        ["enc#0", "enc#1", "enc#2", "enc#3", "enc#4"],
      ),
    tokens,
  ],
  masking_layer: [
    () =>
      sequential(
        "m_masking",
        [5, 3],
        [
          ["Masking", { mask_value: 0 }],
          ["LSTM", { units: 4, return_sequences: true, ...SIG }],
        ],
      ),
    {
      batch: 3,
      // Steps 1 and 4 of row 0, step 0 of row 1 and all of row 2 are all-zero: masked.
      feed: (_, shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const values = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 0.9 + (i % 3 === 0 ? 0.05 : 0));
        for (const [row, step] of [
          [0, 1],
          [0, 4],
          [1, 0],
          [2, 0],
          [2, 1],
          [2, 2],
          [2, 3],
          [2, 4],
        ] as const)
          for (let f = 0; f < 3; f++) values[(row * 5 + step) * 3 + f] = 0;
        return values;
      },
    },
  ],
};

describe("Keras masks (Embedding mask_zero, Masking) into recurrent layers: ONNX agrees with TensorFlow.js", () => {
  for (const [name, [config, options]] of Object.entries(CASES)) {
    it(name, async () => {
      const r = await runCase(name, config(), options);
      expect(r.scale).toBeGreaterThan(1e-3);
      expect(r.maxRel, `${name}: max abs ${r.maxAbs}`).toBeLessThan(TOLERANCE);
    }, 240_000);
  }

  it("the mask changes the result (a control: the same model unmasked disagrees)", async () => {
    const masked = sequential("m_ctl", [6], [embedding, ["LSTM", { units: 5, ...SIG }]]);
    const unmasked = sequential(
      "m_ctl",
      [6],
      [
        ["Embedding", { input_dim: 7, output_dim: 4 }],
        ["LSTM", { units: 5, ...SIG }],
      ],
    );
    const r = await runCase("mask_control", masked, { ...tokens, forTfjs: () => unmasked });
    expect(r.maxRel).toBeGreaterThan(1e-2);
  }, 240_000);
});

checkWrittenAtEnd();
