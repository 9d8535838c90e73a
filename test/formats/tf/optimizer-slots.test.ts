import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { read } from "../../../src/api/open.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";
import { tf } from "./fixtures.js";
import { GRAPH_AND_VALUES, READER } from "./graph-values.js";
import { kerasBundle } from "./keras-bundle.js";

// Keras >= 2.11 optimizers keep every slot in one flat list (`optimizer/_variables/N`) whose object
// graph names each `<Optimizer>/<slot>/<variable>`. Whatever the slot is called (tf-keras'
// optimizers: m v vhat u velocity momentum average_gradient accumulator accumulated_grad
// accumulated_delta_var linear r c, EMA's average), it is one tensor named
// `optimizer/<variable>/<slot>` with the optimizer role; only non-slot scalars go to meta.

// Real Keras 2.12 SavedModels compiled with the new optimizers: SGD(momentum) keeps `m`, RMSprop
// `velocity`; the bAbI model's Embeddings and LSTM are keyed only `variables/N`.
const REAL = [
  {
    path: "savedmodel-dense-dropout-sgd-momentum-k212",
    optimizer: "SGD",
    slots: ["dense", "dense_1", "dense_2"].flatMap((l) => [`optimizer/${l}/kernel/m`, `optimizer/${l}/bias/m`]),
    iteration: 2200,
  },
  {
    path: "savedmodel-babi-memnn-rmsprop-k212",
    optimizer: "RMSprop",
    slots: [
      "embedding/embeddings",
      "embedding_2/embeddings",
      "embedding_1/embeddings",
      "lstm/lstm_cell/kernel",
      "lstm/lstm_cell/recurrent_kernel",
      "lstm/lstm_cell/bias",
      "dense/kernel",
      "dense/bias",
    ].map((v) => `optimizer/${v}/velocity`),
    iteration: 46950,
  },
];

describe.skipIf(!hasPythonModules("numpy"))("real Keras 2.12 SavedModels compiled with non-Adam optimizers (optimizer/_variables/N)", () => {
  for (const c of REAL) {
    it(`${c.path}: every tensor named from the object graph (slots optimizer/<var>/<slot>, no variables/N), bytes as TensorFlow stored them`, async () => {
      const path = tf(c.path);
      const truth = JSON.parse(runPython(`${READER}\n${GRAPH_AND_VALUES}`, [join(path, "variables/variables")])) as Record<
        string,
        { full_name: string; values?: number[]; crc_ok: boolean | null }
      >;
      const checkpoint = await read(path);
      try {
        const keys = (checkpoint.meta.tensorflow as { checkpoint_keys: Record<string, string> }).checkpoint_keys;
        const expected = (key: string): string => {
          const full = truth[key]!.full_name;
          const slot = new RegExp(`^${c.optimizer}/([^/]+)/(.+)$`).exec(full);
          return key.startsWith("optimizer/") && slot ? `optimizer/${slot[2]}/${slot[1]}` : full;
        };
        const seen: string[] = [];
        for (const t of checkpoint.tensors) {
          const key = keys[t.name] ?? t.name;
          seen.push(key);
          expect(t.name, key).toBe(expected(key));
          expect(t.name).not.toMatch(/_variables|(^|\/)variables\/\d+/);
          expect(truth[key]!.crc_ok).toBe(true);
          const bytes = await t.data.read();
          expect(Buffer.from(bytes).equals(Buffer.from(new Float32Array(truth[key]!.values!).buffer)), t.name).toBe(true);
        }
        const slots = checkpoint.tensors.filter((t) => t.name.startsWith("optimizer/"));
        expect(slots.map((t) => t.name)).toEqual(c.slots);
        expect(slots.every((t) => t.role === "optimizer")).toBe(true);
        // Every other numeric entry is a non-weight kept in meta: the iteration count, learning rate and metrics.
        const rest = Object.keys(truth).filter((k) => !seen.includes(k) && truth[k]!.values);
        expect(rest).toEqual(
          expect.arrayContaining(["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE", "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE"]),
        );
        for (const k of rest) expect(k).toMatch(/^(keras_api\/metrics\/|optimizer\/_(iterations|learning_rate)\/)/);
        expect(checkpoint.meta.tensorflow).toMatchObject({ optimizer_class: c.optimizer, optimizer: { iteration: c.iteration } });
      } finally {
        await checkpoint.close();
      }
    });
  }
});

// The slot names tf-keras' optimizers give add_variable_from_reference / add_variable (tf_keras/optimizers/*.py).
const OPTIMIZERS: Array<{ optimizer: string; slots: Array<{ slot: string; kernel?: number[]; bias?: number[] }> }> = [
  { optimizer: "Adamax", slots: [{ slot: "m" }, { slot: "u" }] },
  { optimizer: "RMSprop", slots: [{ slot: "velocity" }, { slot: "momentum" }, { slot: "average_gradient" }] },
  { optimizer: "Adagrad", slots: [{ slot: "accumulator" }] },
  { optimizer: "Adadelta", slots: [{ slot: "accumulated_grad" }, { slot: "accumulated_delta_var" }] },
  { optimizer: "Ftrl", slots: [{ slot: "accumulator" }, { slot: "linear" }] },
  { optimizer: "AdamW", slots: [{ slot: "m" }, { slot: "v" }, { slot: "vhat" }, { slot: "average" }] },
  { optimizer: "Nadam", slots: [{ slot: "m" }, { slot: "v" }] },
  { optimizer: "Lion", slots: [{ slot: "m" }] },
  // Adafactor factors a matrix's second moment into a row and a column vector.
  { optimizer: "Adafactor", slots: [{ slot: "r", kernel: [2], bias: [3] }, { slot: "c", kernel: [3], bias: [3] }, { slot: "v" }] },
];

describe("Keras >= 2.11 optimizer slots, every optimizer: one tensor per slot, named optimizer/<variable>/<slot>", () => {
  for (const { optimizer, slots } of OPTIMIZERS) {
    it(`${optimizer}: ${slots.map((s) => s.slot).join(", ")}`, async () => {
      // Nadam's running product is an optimizer scalar, no slot: it stays in meta.
      const extra = optimizer === "Nadam" ? [{ key: "optimizer/_u_product", fullName: "Nadam/u_product", dims: [] }] : [];
      const checkpoint = await read(kerasBundle(optimizer, slots, extra));
      try {
        const names = checkpoint.tensors.map((t) => t.name);
        const wanted = slots.flatMap((s) => [`optimizer/dense/kernel/${s.slot}`, `optimizer/dense/bias/${s.slot}`]);
        // Bundles list tensors in key order; what matters is the set of names.
        expect([...names].sort()).toEqual(["dense/bias", "dense/kernel", ...wanted].sort());
        for (const t of checkpoint.tensors) expect(t.role, t.name).toBe(t.name.startsWith("optimizer/") ? "optimizer" : undefined);
        const meta = checkpoint.meta.tensorflow as { optimizer: Record<string, unknown>; checkpoint_keys: Record<string, string> };
        expect(Object.keys(meta.optimizer)).toEqual(optimizer === "Nadam" ? ["iteration", "Nadam/u_product"] : ["iteration"]);
        expect(meta.checkpoint_keys["optimizer/dense/bias/m"] ?? meta.checkpoint_keys[wanted[1]!]).toMatch(/^optimizer\/_variables\/\d+\//);
      } finally {
        await checkpoint.close();
      }
    });
  }
});
