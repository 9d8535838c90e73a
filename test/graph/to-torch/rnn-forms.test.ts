import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { convert } from "../../../src/api/convert.js";
import { hasPythonModules, PYTHON } from "../../helpers/python.js";
import { pythonLint, torchAgainstOnnx } from "./torch-vs-ort.js";

// LSTM/GRU/RNN forms torch's nn.LSTM/GRU/RNN do not compute (rnn_forms.py builds them: GRU with
// linear_before_reset=0, peepholes, clip, sequence_lens of different lengths, reverse, layout=1,
// weights computed at run time, Relu and Softsign activations). Each is written step by step;
// the module runs in real torch against onnxruntime-node within 1e-4 relative.

const HERE = new URL(".", import.meta.url).pathname;
const available = hasPythonModules("torch", "onnx", "pyflakes");
const NAMES = [
  "gru_linear_first_bidirectional_lens",
  "lstm_clip_reverse_peepholes_lens",
  "lstm_batch_major_bidirectional",
  "rnn_relu_computed_weights",
  "gru_batch_major_clip_softsign",
];

let dir = "";

describe.skipIf(!available)("recurrent forms written step by step, run in torch against onnxruntime", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "torch-module-rnn-"));
    const r = spawnSync(PYTHON, [join(HERE, "rnn_forms.py"), dir], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(r.stderr.slice(-3000));
  }, 120_000);

  for (const name of NAMES) {
    it(name, async () => {
      const source = join(dir, `${name}.onnx`);
      const py = join(dir, `${name}.py`);
      await convert(source, py);
      expect(readFileSync(py, "utf8")).toContain("def onnx_recurrence(");
      expect(pythonLint(py)).toBe("");
      // onnxruntime has no layout=1 kernels: it runs the time-major twin (rnn_forms.py).
      const reference = existsSync(join(dir, `${name}.reference.onnx`)) ? join(dir, `${name}.reference.onnx`) : source;
      const outputs = await torchAgainstOnnx(reference, py, join(dir, `${name}.pth`), dir, name);
      expect(outputs.length).toBe(name.startsWith("lstm") ? 3 : 2);
      outputs.forEach((o, i) => {
        expect(o.shapes[1], `${name} output ${i} shape`).toEqual(o.shapes[0]);
        expect(o.maxRel, `${name} output ${i}: max abs ${o.maxAbs}`).toBeLessThanOrEqual(1e-4);
      });
    }, 120_000);
  }
});
