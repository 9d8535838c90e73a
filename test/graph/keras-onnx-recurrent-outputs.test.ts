import { describe, expect, it } from "vitest";
import { checkWrittenAtEnd, deadNodesIn, runCase, sequential } from "./keras-onnx-harness.js";

// Recurrent layers that return their last output only (return_sequences=False): the graph holds
// no node whose result nothing reads (the sequence output's transpose, the merge's direction
// split), and still computes what TensorFlow.js computes.

const TOLERANCE = 1e-4;
const SIG = { recurrent_activation: "sigmoid" };

const bidirectional = (merge_mode: string, class_name: string, extra: Record<string, unknown> = {}) => ({
  merge_mode,
  layer: { class_name, config: { name: `${class_name.toLowerCase()}_${merge_mode}`, units: 3, ...SIG, ...extra } },
});

const CASES: Record<string, { config: () => ReturnType<typeof sequential>; intBelow?: number }> = {
  lstm_last: { config: () => sequential("ro_lstm", [5, 3], [["LSTM", { units: 4, ...SIG }]]) },
  lstm_last_backwards: { config: () => sequential("ro_lstm_b", [5, 3], [["LSTM", { units: 4, go_backwards: true, ...SIG }]]) },
  gru_last: { config: () => sequential("ro_gru", [5, 3], [["GRU", { units: 3, reset_after: false, ...SIG }]]) },
  simple_rnn_last: { config: () => sequential("ro_rnn", [5, 3], [["SimpleRNN", { units: 3 }]]) },
  masked_lstm_last: {
    config: () =>
      sequential(
        "ro_mask",
        [5],
        [
          ["Embedding", { input_dim: 7, output_dim: 3, mask_zero: true }],
          ["LSTM", { units: 4, ...SIG }],
        ],
      ),
    intBelow: 7,
  },
  bidirectional_last: {
    config: () =>
      sequential(
        "ro_bidi",
        [5, 3],
        [
          ["Bidirectional", bidirectional("concat", "LSTM")],
          ["RepeatVector", { n: 2 }],
          ["Bidirectional", bidirectional("sum", "GRU", { reset_after: false })],
        ],
      ),
  },
  bidirectional_last_ave_mul: {
    config: () =>
      sequential(
        "ro_bidi_am",
        [5, 3],
        [
          ["Bidirectional", bidirectional("ave", "SimpleRNN")],
          ["RepeatVector", { n: 3 }],
          ["Bidirectional", bidirectional("mul", "LSTM")],
        ],
      ),
  },
};

describe("recurrent layers returning their last output: no dead nodes, same outputs as TensorFlow.js", () => {
  for (const [name, { config, intBelow }] of Object.entries(CASES)) {
    it(name, async () => {
      const r = await runCase(`ro_${name}`, config(), intBelow ? { intBelow } : {});
      expect(r.scale).toBeGreaterThan(1e-3);
      expect(r.maxRel, `${name}: max abs ${r.maxAbs}`).toBeLessThan(TOLERANCE);
      expect(r.check, name).toEqual({ verdict: "agrees" });
      const { dead, ops } = await deadNodesIn(r.onnx);
      expect(dead).toEqual([]);
      expect(ops.some((op) => ["LSTM", "GRU", "RNN"].includes(op))).toBe(true);
    }, 240_000);
  }
});

checkWrittenAtEnd();
