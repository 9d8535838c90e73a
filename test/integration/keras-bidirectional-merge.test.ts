import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { convert, writeBytes } from "../../src/index.js";
import { bytesData, makeTensor, type Tensor } from "../../src/tensor/tensor.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

// Issue 27: a Keras Bidirectional LSTM with merge_mode sum/mul/ave mapped to torch's nn.LSTM
// (which concatenates the directions) got no note. The model is built and run by TF.js' Keras
// layers; its weights go into a model.save-style .h5; keras2torch converts it; real torch runs
// nn.LSTM(bidirectional=True) on the converted weights and merges the halves as the report says:
// that equals the Keras output, and the plain concatenation does not.
const dir = mkdtempSync(join(tmpdir(), "wb-bidi-merge-"));

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  };
}

async function kerasCase(mode: string): Promise<{ h5: string; input: number[]; output: number[] }> {
  await tf.setBackend("cpu");
  const config = {
    class_name: "Sequential",
    config: {
      name: `bidi_${mode}`,
      layers: [
        { class_name: "InputLayer", config: { name: "x", batch_input_shape: [null, 5, 4], dtype: "float32" } },
        {
          class_name: "Bidirectional",
          config: {
            name: "bidi",
            merge_mode: mode,
            layer: { class_name: "LSTM", config: { name: "lstm", units: 3, return_sequences: true, recurrent_activation: "sigmoid" } },
          },
        },
      ],
    },
    keras_version: "2.15.0",
    backend: "tensorflow",
  };
  const model = await tf.models.modelFromJSON({ modelTopology: config as never });
  const random = seeded(7);
  const tensors: Tensor[] = [];
  model.setWeights(
    model.weights.map((w) => {
      const v = Float32Array.from({ length: w.shape.reduce((a, b) => a * b, 1) }, random);
      tensors.push(makeTensor(`${w.originalName}:0`, "float32", w.shape as number[], bytesData(new Uint8Array(v.buffer))));
      return tf.tensor(v, w.shape);
    }),
  );
  const h5 = join(dir, `${mode}.h5`);
  writeFileSync(h5, await writeBytes({ tensors, meta: { model_config: config as JsonValue, keras_version: "2.15.0", backend: "tensorflow" } }, "keras-h5"));
  const input = Array.from({ length: 2 * 5 * 4 }, random);
  const output = Array.from((model.predict(tf.tensor(input, [2, 5, 4])) as tf.Tensor).dataSync());
  return { h5, input, output };
}

const RUN = String.raw`
import sys, json, numpy as np, torch
pt, case_json, mode = sys.argv[1:4]
case = json.load(open(case_json))
sd = torch.load(pt, weights_only=True)
prefix = sorted({k.rsplit(".", 1)[0] for k in sd})
lstm = torch.nn.LSTM(4, 3, batch_first=True, bidirectional=True)
lstm.load_state_dict({k.rsplit(".", 1)[1]: v for k, v in sd.items()}, strict=True)
with torch.no_grad():
    out, _ = lstm(torch.tensor(case["input"], dtype=torch.float32).reshape(2, 5, 4))
out = out.numpy()
merged = {"sum": out[..., :3] + out[..., 3:], "mul": out[..., :3] * out[..., 3:], "ave": (out[..., :3] + out[..., 3:]) / 2}[mode]
keras = np.array(case["output"], dtype=np.float32).reshape(merged.shape)
print(json.dumps({"modules": prefix, "merged_err": float(np.abs(merged - keras).max()), "concat_shape": list(out.shape), "scale": float(np.abs(keras).max())}))
`;

describe.skipIf(!hasPythonModules("torch", "numpy"))("Keras Bidirectional merge_mode sum/mul/ave → torch nn.LSTM", () => {
  for (const mode of ["sum", "mul", "ave"]) {
    it(`${mode}: the report says how to merge torch's concatenated output, and that merge computes Keras' output`, async () => {
      const c = await kerasCase(mode);
      const pt = join(dir, `${mode}.pt`);
      const report = await convert(c.h5, pt, { map: "keras2torch", force: true });
      const note = report.warnings.find((w) => w.includes("Bidirectional"));
      expect(note).toBeDefined();
      expect(note).toContain(`Keras Bidirectional 'bidi' merges its two directions by ${mode}; torch's bidirectional RNN concatenates them`);
      expect(report.warnings.filter((w) => w.includes("Bidirectional"))).toHaveLength(1);
      writeFileSync(join(dir, `${mode}.json`), JSON.stringify({ input: c.input, output: c.output }));
      const r = JSON.parse(runPython(RUN, [pt, join(dir, `${mode}.json`), mode])) as { merged_err: number; concat_shape: number[]; scale: number };
      expect(r.concat_shape).toEqual([2, 5, 6]);
      expect(r.scale).toBeGreaterThan(1e-2);
      expect(r.merged_err).toBeLessThan(1e-5);
    });
  }

  it("concat (the default) gets no note", async () => {
    const c = await kerasCase("concat");
    const report = await convert(c.h5, join(dir, "concat.pt"), { map: "keras2torch", force: true });
    expect(report.warnings.some((w) => w.includes("Bidirectional"))).toBe(false);
  });
});
