import { describe, expect, it } from "vitest";
import type { JsonValue } from "../../src/tensor/checkpoint.js";
import { checkWrittenAtEnd, deadNodesIn, runCase, sequential } from "./keras-onnx-harness.js";

// Bidirectional with a go_backwards wrapped layer (Keras runs the forward weights from the last
// step and the backward ones from the first) and with an explicit backward_layer that is the one
// Keras makes by default, against TensorFlow.js; other backward layers and masks are refused.

const TOLERANCE = 1e-4;
const SIG = { recurrent_activation: "sigmoid" };

const wrapped = (class_name: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ...extra,
  layer: { class_name, config: { units: 3, ...SIG, ...config } },
});

/** tfjs reads no backward_layer (it always makes the default one): it is given the config without it. */
const withoutBackwardLayer = (config: JsonValue): JsonValue => JSON.parse(JSON.stringify(config), (k, v) => (k === "backward_layer" ? undefined : v));

const backwardOf = (class_name: string, config: Record<string, unknown>) => ({ class_name, config: { units: 3, ...SIG, ...config } });

const CASES: Record<string, () => JsonValue> = {
  lstm_go_backwards_sequences: () =>
    sequential("bd_lstm_b", [5, 3], [["Bidirectional", wrapped("LSTM", { name: "lstm_b", go_backwards: true, return_sequences: true })]]),
  gru_go_backwards_last_sum: () =>
    sequential("bd_gru_b", [5, 3], [["Bidirectional", wrapped("GRU", { name: "gru_b", go_backwards: true, reset_after: false }, { merge_mode: "sum" })]]),
  rnn_go_backwards_sequences_mul: () =>
    sequential(
      "bd_rnn_b",
      [4, 2],
      [
        ["Bidirectional", wrapped("SimpleRNN", { name: "rnn_b", go_backwards: true, return_sequences: true }, { merge_mode: "mul" })],
        ["Bidirectional", wrapped("LSTM", { name: "lstm_c", go_backwards: true })],
      ],
    ),
  explicit_default_backward_layer: () =>
    sequential(
      "bd_explicit",
      [5, 3],
      [
        [
          "Bidirectional",
          wrapped(
            "LSTM",
            { name: "lstm_f", return_sequences: true },
            { backward_layer: backwardOf("LSTM", { name: "lstm_back", return_sequences: true, go_backwards: true }) },
          ),
        ],
      ],
    ),
};

describe("Bidirectional with go_backwards or an explicit default backward_layer agrees with TensorFlow.js", () => {
  for (const [name, config] of Object.entries(CASES)) {
    it(name, async () => {
      const r = await runCase(name, config(), { forTfjs: withoutBackwardLayer });
      expect(r.scale).toBeGreaterThan(1e-3);
      expect(r.spread).toBeGreaterThan(1e-4);
      expect(r.maxRel, `${name}: max abs ${r.maxAbs}`).toBeLessThan(TOLERANCE);
      expect(r.check, name).toEqual({ verdict: "agrees" });
      expect((await deadNodesIn(r.onnx)).dead).toEqual([]);
    }, 240_000);
  }
  it("a go_backwards model whose directions are swapped disagrees (a control: the reversal is seen)", async () => {
    // The same weights read as go_backwards=false give other outputs: what TensorFlow.js computes depends on it.
    const forward = sequential("bd_ctrl", [5, 3], [["Bidirectional", wrapped("LSTM", { name: "lstm_x", return_sequences: true })]]);
    const r = await runCase("bd_ctrl", forward, {
      forTfjs: () => sequential("bd_ctrl", [5, 3], [["Bidirectional", wrapped("LSTM", { name: "lstm_x", go_backwards: true, return_sequences: true })]]),
    });
    expect(r.maxRel).toBeGreaterThan(1e-2);
  }, 240_000);
});

describe("Bidirectional refusals", () => {
  const refused = (name: string, config: JsonValue, message: RegExp, intBelow?: number) =>
    it(name, async () => {
      await expect(runCase(name, config, { forTfjs: withoutBackwardLayer, ...(intBelow ? { intBelow } : {}) })).rejects.toThrow(message);
    }, 240_000);
  refused(
    "a backward_layer of other units",
    sequential(
      "bd_units",
      [5, 3],
      [["Bidirectional", wrapped("LSTM", { name: "lstm_u" }, { backward_layer: backwardOf("LSTM", { name: "lstm_ub", units: 4, go_backwards: true }) })]],
    ),
    /backward_layer with units=4.*is not implemented.*--weights-only/,
  );
  refused(
    "a backward_layer running the same way as the forward one",
    sequential(
      "bd_same",
      [5, 3],
      [["Bidirectional", wrapped("GRU", { name: "gru_s", reset_after: false }, { backward_layer: backwardOf("GRU", { name: "gru_sb", reset_after: false }) })]],
    ),
    /backward_layer with go_backwards=false \(the same direction as the forward layer\)/,
  );
  refused(
    "go_backwards under a mask",
    sequential(
      "bd_mask",
      [5],
      [
        ["Embedding", { input_dim: 7, output_dim: 3, mask_zero: true }],
        ["Bidirectional", wrapped("LSTM", { name: "lstm_m", go_backwards: true })],
      ],
    ),
    /go_backwards=true.*with a mask is not implemented/,
    7,
  );
});

checkWrittenAtEnd();
