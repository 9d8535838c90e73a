import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { hasPythonModules, runPython } from "../helpers/python.js";
import { read } from "../../src/api/open.js";
import { writeBytes } from "../../src/api/write.js";
import { mapCheckpoint } from "../../src/mapping/index.js";
import { floats } from "../mapping/helpers.js";

// Numerical equivalence in a real Keras-compatible runtime: real PyTorch makes a model and its
// outputs; torch2keras maps the weights, our keras-h5 writer writes them and our reader reads
// them back; TensorFlow.js layers (pure-JS CPU backend) builds each layer from a Keras config,
// takes the weights with setWeights and must compute what torch computed. GRU is left to the
// numpy check in interop.test.ts: torch's GRU is Keras' reset_after=True, which tfjs 4.x refuses
// ("GRUCell does not support reset_after parameter set to true"), and reset_after=False is a
// different function.
const MAKE = String.raw`
import sys, json, torch
torch.manual_seed(0)
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(6, 4)
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.dw = torch.nn.Conv2d(4, 8, 3, groups=4)
        self.bn = torch.nn.BatchNorm2d(8)
        self.emb = torch.nn.Embedding(10, 6)
        self.lstm = torch.nn.LSTM(6, 5, batch_first=True)
        self.up = torch.nn.ConvTranspose2d(4, 3, 3, stride=2)
        self.ln = torch.nn.LayerNorm(6)
m = M()
with torch.no_grad():
    for p in m.parameters():
        p.copy_(torch.randn_like(p) * 0.5)
m.bn.train(); m.bn(torch.randn(4, 8, 5, 5) * 2 + 1); m.eval()
nhwc = lambda t: t.permute(0, 2, 3, 1)
cases = {}
def case(name, x, y, int_input=False):
    cases[name] = {"x": x.flatten().tolist(), "xShape": list(x.shape), "y": y.detach().flatten().tolist(), "yShape": list(y.shape), "int": int_input}
with torch.no_grad():
    x = torch.randn(7, 6); case("fc", x, m.fc(x))
    x = torch.randn(2, 3, 7, 7); case("conv", nhwc(x), nhwc(m.conv(x)))
    x = torch.randn(2, 4, 7, 7); case("dw", nhwc(x), nhwc(m.dw(x)))
    x = torch.randn(2, 8, 5, 5); case("bn", nhwc(x), nhwc(m.bn(x)))
    x = torch.randint(0, 10, (2, 5)); case("emb", x, m.emb(x), True)
    x = torch.randn(2, 4, 6); case("lstm", x, m.lstm(x)[0])
    x = torch.randn(2, 4, 5, 5); case("up", nhwc(x), nhwc(m.up(x)))
    x = torch.randn(3, 6); case("ln", x, m.ln(x))
torch.save(m.state_dict(), sys.argv[1])
json.dump(cases, open(sys.argv[2], "w"))
`;

/** The Keras layer configs (as model.to_json() writes them) of the layers torch computed. */
const LAYERS: Record<string, { class_name: string; config: Record<string, unknown> }> = {
  fc: { class_name: "Dense", config: { units: 4, batch_input_shape: [null, 6] } },
  conv: { class_name: "Conv2D", config: { filters: 8, kernel_size: [3, 3], padding: "valid", batch_input_shape: [null, 7, 7, 3] } },
  dw: { class_name: "DepthwiseConv2D", config: { kernel_size: [3, 3], depth_multiplier: 2, padding: "valid", batch_input_shape: [null, 7, 7, 4] } },
  bn: { class_name: "BatchNormalization", config: { axis: -1, epsilon: 1e-5, batch_input_shape: [null, 5, 5, 8] } },
  emb: { class_name: "Embedding", config: { input_dim: 10, output_dim: 6, batch_input_shape: [null, 5] } },
  lstm: { class_name: "LSTM", config: { units: 5, return_sequences: true, recurrent_activation: "sigmoid", batch_input_shape: [null, 4, 6] } },
  up: { class_name: "Conv2DTranspose", config: { filters: 3, kernel_size: [3, 3], strides: [2, 2], padding: "valid", batch_input_shape: [null, 5, 5, 4] } },
  ln: { class_name: "LayerNormalization", config: { axis: -1, epsilon: 1e-5, batch_input_shape: [null, 6] } },
};

interface Case {
  x: number[];
  xShape: number[];
  y: number[];
  yShape: number[];
  int: boolean;
}

describe.skipIf(!hasPythonModules("torch"))("torch → Keras weights in TensorFlow.js layers", () => {
  it("every layer kind computes what torch computes (|Δ| < 1e-4) from weights that went through keras-h5", async () => {
    await tf.setBackend("cpu");
    const dir = mkdtempSync(join(tmpdir(), "wb-tfjs-"));
    const pt = join(dir, "model.pt");
    const casesPath = join(dir, "cases.json");
    runPython(MAKE, [pt, casesPath]);
    const cases = JSON.parse(readFileSync(casesPath, "utf8")) as Record<string, Case>;
    // A bare state_dict does not say that dw is depthwise (nor its groups): a rule file's kinds do.
    const kinds = join(dir, "kinds.json");
    writeFileSync(kinds, JSON.stringify({ name: "kinds", kinds: [{ match: "^dw\\.", kind: "depthwise_conv2d", attributes: { groups: 4 } }], rules: [] }));
    const source = await read(pt);
    const h5 = join(dir, "model.h5");
    try {
      const { checkpoint, report } = await mapCheckpoint(source, { map: [kinds, "torch2keras"] });
      expect(report.unmatched).toEqual([]);
      writeFileSync(h5, await writeBytes(checkpoint, "keras-h5"));
    } finally {
      await source.close();
    }
    const keras = await read(h5);
    const weights = new Map<string, { shape: number[]; values: number[] }>();
    try {
      for (const w of keras.tensors) weights.set(w.name, { shape: w.shape, values: floats(await w.data.read()) });
    } finally {
      await keras.close();
    }
    const errors: Record<string, number> = {};
    for (const [name, layer] of Object.entries(LAYERS)) {
      const topology = {
        class_name: "Sequential",
        config: { name: `m_${name}`, layers: [{ class_name: layer.class_name, config: { name, ...layer.config } }] },
        keras_version: "2.15.0",
        backend: "tensorflow",
      };
      const model = await tf.models.modelFromJSON({ modelTopology: topology });
      const kerasLayer = model.layers[0]!;
      // tfjs' own weight order and names (kernel, recurrent_kernel, bias, gamma ...) pick ours.
      const ours = kerasLayer.weights.map((w) => {
        const param = w.originalName.split("/").pop()!;
        const found = [...weights.keys()].find((k) => k.replace(/:\d+$/, "").split("/").at(-1) === param && k.split("/")[0] === name);
        expect(found, `${name}/${param}`).toBeDefined();
        const v = weights.get(found!)!;
        expect(v.shape, found).toEqual(w.shape);
        return tf.tensor(v.values, v.shape);
      });
      kerasLayer.setWeights(ours);
      const c = cases[name]!;
      const x = tf.tensor(c.x, c.xShape, c.int ? "int32" : "float32");
      const y = model.predict(x) as tf.Tensor;
      expect(y.shape, name).toEqual(c.yShape);
      const got = await y.data();
      errors[name] = Math.max(...Array.from(got, (v, i) => Math.abs(v - c.y[i]!)));
      expect(Math.max(...c.y.map(Math.abs)), name).toBeGreaterThan(0.1);
      if (name === "conv" || name === "up") {
        // The control: the same kernel flipped in height must not compute the same thing.
        kerasLayer.setWeights([tf.reverse(ours[0]!, 0), ...ours.slice(1)]);
        const flipped = await (model.predict(x) as tf.Tensor).data();
        expect(Math.max(...Array.from(flipped, (v, i) => Math.abs(v - c.y[i]!))), `${name} control`).toBeGreaterThan(1e-2);
      }
    }
    if (process.env.WB_DEBUG) console.log(errors);
    expect(Object.keys(errors).sort()).toEqual(["bn", "conv", "dw", "emb", "fc", "ln", "lstm", "up"]);
    for (const [layer, e] of Object.entries(errors)) expect(e, layer).toBeLessThan(1e-4);
    expect(errors.emb).toBe(0);
  }, 120_000);
});
