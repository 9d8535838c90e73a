import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { runCli } from "../helpers/cli.js";
import { writeBytes } from "../../src/api/write.js";
import { modelGraph } from "../../src/api/model-graph.js";
import { bytesData, makeTensor, type Tensor } from "../../src/tensor/tensor.js";
import type { JsonValue } from "../../src/tensor/checkpoint.js";
import { functional, seeded, sequential } from "./keras-onnx-harness.js";

// `weightbridge convert model.h5 model.onnx` from the command line: the runnable graph by default,
// --weights-only, --opset, --inputs-channels-first, the library's graph API, and every refusal
// (exit 1, one line naming the layer, its class and the option, suggesting --weights-only, and no
// output file).

const dir = mkdtempSync(join(tmpdir(), "wb-keras-onnx-cli-"));

function weight(name: string, shape: number[], seed = 1): Tensor {
  const random = seeded(seed);
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random(-0.5, 0.5));
  return makeTensor(name, "float32", shape, bytesData(new Uint8Array(values.buffer)));
}

async function h5(name: string, config: JsonValue, tensors: Tensor[]): Promise<string> {
  const path = join(dir, `${name}.h5`);
  writeFileSync(path, await writeBytes({ tensors, meta: { model_config: config, keras_version: "2.15.0", backend: "tensorflow" } }, "keras-h5"));
  return path;
}

const denseConfig = sequential("mlp", [6], [["Dense", { units: 4, activation: "relu" }]]);
const denseWeights = () => [weight("mlp_0_dense/kernel:0", [6, 4]), weight("mlp_0_dense/bias:0", [4], 2)];

function refusal(name: string, config: JsonValue, tensors: Tensor[], message: RegExp): void {
  it(`refuses ${name}`, async () => {
    const input = await h5(name, config, tensors);
    const out = join(dir, `${name}.onnx`);
    const r = runCli(["convert", input, out]);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(/--weights-only/);
    expect(existsSync(out)).toBe(false);
  }, 180_000);
}

describe("weightbridge convert Keras → runnable ONNX (CLI)", () => {
  it("writes a runnable graph by default and initializers alone with --weights-only", async () => {
    const input = await h5("mlp", denseConfig, denseWeights());
    const graph = join(dir, "mlp.onnx");
    const r = runCli(["convert", input, graph]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/whole model agrees/);
    const session = await ort.InferenceSession.create(graph);
    expect(session.inputNames).toEqual(["mlp_in"]);
    const out = await session.run({ mlp_in: new ort.Tensor("float32", new Float32Array(12).fill(0.5), [2, 6]) });
    expect(out[session.outputNames[0]!]!.dims).toEqual([2, 4]);
    const weightsOnly = join(dir, "mlp-weights.onnx");
    expect(runCli(["convert", input, weightsOnly, "--weights-only"]).code).toBe(0);
    const inspected = JSON.parse(runCli(["inspect", weightsOnly, "--json"]).stdout) as { tensors: Array<{ name: string }> };
    expect(inspected.tensors.map((t) => t.name).sort()).toEqual(["mlp_0_dense/bias:0", "mlp_0_dense/kernel:0"]);
    const w = await ort.InferenceSession.create(weightsOnly);
    expect(w.inputNames).toEqual([]);
  }, 180_000);

  it("--external-data: the graph with its weights in OUT.data, checked before either file appears, and run from there", async () => {
    const input = await h5("mlp-ext", denseConfig, denseWeights());
    const [graph, inlined] = [join(dir, "mlp-ext.onnx"), join(dir, "mlp-inline.onnx")];
    expect(runCli(["convert", input, inlined]).code).toBe(0);
    const r = runCli(["convert", input, graph, "--external-data"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/whole model agrees/);
    // The kernel's bytes are in the side file, not in the graph.
    const kernel = Buffer.from(await denseWeights()[0]!.data.read());
    expect(readFileSync(graph).indexOf(kernel)).toBe(-1);
    expect(readFileSync(`${graph}.data`).indexOf(kernel)).toBeGreaterThanOrEqual(0);
    const session = await ort.InferenceSession.create(graph);
    const out = await session.run({ mlp_in: new ort.Tensor("float32", new Float32Array(12).fill(0.5), [2, 6]) });
    const inline = await ort.InferenceSession.create(inlined);
    const expected = await inline.run({ mlp_in: new ort.Tensor("float32", new Float32Array(12).fill(0.5), [2, 6]) });
    expect(Array.from(out[session.outputNames[0]!]!.data as Float32Array)).toEqual(Array.from(expected[inline.outputNames[0]!]!.data as Float32Array));
    // Both files exist now: a second run without --force replaces neither.
    const again = runCli(["convert", input, graph, "--external-data"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
  }, 180_000);

  it("--opset 13 and --inputs-channels-first", async () => {
    const config = sequential(
      "cnn",
      [5, 5, 2],
      [
        ["Conv2D", { filters: 3, kernel_size: [3, 3] }],
        ["LayerNormalization", {}],
      ],
    );
    const input = await h5("cnn", config, [
      weight("cnn_0_conv2d/kernel:0", [3, 3, 2, 3]),
      weight("cnn_0_conv2d/bias:0", [3]),
      weight("cnn_1_layernormalization/gamma:0", [3]),
      weight("cnn_1_layernormalization/beta:0", [3]),
    ]);
    const out = join(dir, "cnn13.onnx");
    const r = runCli(["convert", input, out, "--opset", "13", "--inputs-channels-first"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/whole model agrees/);
    const session = await ort.InferenceSession.create(out);
    const result = await session.run({ cnn_in: new ort.Tensor("float32", new Float32Array(2 * 2 * 25).fill(0.1), [2, 2, 5, 5]) });
    expect(result[session.outputNames[0]!]!.dims).toEqual([2, 3, 3, 3]);
    expect(runCli(["convert", input, join(dir, "cnn12.onnx"), "--opset", "12"]).code).toBe(2);
  }, 180_000);

  it("reports each weight's layout change (kernel permutation, gate repacking) in --report", async () => {
    const config = sequential(
      "lay",
      [4, 3],
      [
        ["Conv1D", { filters: 4, kernel_size: [2] }],
        ["Bidirectional", { layer: { class_name: "LSTM", config: { name: "lay_lstm", units: 2, recurrent_activation: "sigmoid" } } }],
        ["Dense", { units: 1 }],
      ],
    );
    const lstm = (dir: string, part: string, shape: number[]) => weight(`lay_1_bidirectional/${dir}_lay_lstm/lstm_cell/${part}:0`, shape, shape[0]);
    const input = await h5("lay", config, [
      weight("lay_0_conv1d/kernel:0", [2, 3, 4]),
      weight("lay_0_conv1d/bias:0", [4]),
      ...["forward", "backward"].flatMap((d) => [lstm(d, "kernel", [4, 8]), lstm(d, "recurrent_kernel", [2, 8]), lstm(d, "bias", [8])]),
      weight("lay_2_dense/kernel:0", [4, 1]),
      weight("lay_2_dense/bias:0", [1]),
    ]);
    const reportPath = join(dir, "lay.report.json");
    const r = runCli(["convert", input, join(dir, "lay.onnx"), "--report", reportPath]);
    expect(r.code, r.stderr).toBe(0);
    type Row = { source: string; target: string; sources?: string[]; targetShape?: number[]; transforms: string[] };
    const rows = (JSON.parse(readFileSync(reportPath, "utf8")) as { tensors: Row[] }).tensors;
    const byTarget = new Map(rows.map((t) => [t.target, t]));
    expect(rows.find((t) => t.source === "lay_0_conv1d/kernel:0")).toMatchObject({ targetShape: [4, 3, 2], transforms: ["transpose(2,1,0)"] });
    expect(byTarget.get("lay_0_conv1d/bias:0")).toMatchObject({ source: "lay_0_conv1d/bias:0", transforms: [] });
    expect(byTarget.get("lay_2_dense/kernel:0")!.transforms).toEqual([]);
    const W = rows.find((t) => t.target.endsWith("/W"))!;
    expect(W.sources).toEqual(["lay_1_bidirectional/forward_lay_lstm/lstm_cell/kernel:0", "lay_1_bidirectional/backward_lay_lstm/lstm_cell/kernel:0"]);
    expect(W.targetShape).toEqual([2, 8, 4]);
    expect(W.transforms).toEqual(["gates(axis 1: 0,3,1,2)", "transpose(1,0)", "stack(forward, backward) → [2,8,4]"]);
    const B = rows.find((t) => t.target.endsWith("/B"))!;
    expect(B.transforms).toEqual(["gates(axis -1: 0,3,1,2)", "concat(input bias, zeros as recurrent bias)", "stack(forward, backward) → [2,16]"]);
    // Every weight of the file is a source of some initializer.
    const used = new Set(rows.flatMap((t) => t.sources ?? [t.source]));
    expect(used.size).toBe(10);
  }, 180_000);

  it("gives a script the graph: nodes, inputs and outputs", { timeout: 60_000 }, async () => {
    const input = await h5("api", denseConfig, denseWeights());
    const { graph, close } = await modelGraph(input);
    try {
      expect(graph.inputs).toEqual([{ name: "mlp_in", dtype: "float32", shape: ["batch", 6] }]);
      expect(graph.outputs[0]!.shape).toEqual(["batch", 4]);
      expect(graph.nodes.map((n) => n.op)).toEqual(["MatMul", "Add", "Relu", "Identity"]);
      expect(graph.nodes[0]!.sourceLayer).toBe("mlp_0_dense");
      expect(graph.initializers.map((t) => t.name)).toEqual(["mlp_0_dense/kernel:0", "mlp_0_dense/bias:0"]);
    } finally {
      await close();
    }
  });

  refusal(
    "a Lambda layer",
    sequential("lam", [6], [["Lambda", { function: ["4wEAAAAAAAAA", null, null], function_type: "lambda" }]]),
    [],
    /layer lam_0_lambda \(Lambda\): function is Python bytecode/,
  );
  refusal(
    "a custom layer class",
    sequential("cust", [6], [["MyCustomLayer", { units: 3 }]]),
    [],
    /layer cust_0_mycustomlayer \(MyCustomLayer\): class is a custom or unsupported layer class/,
  );
  refusal(
    "an unknown TFOpLambda",
    functional(
      "tfop",
      [{ name: "x", shape: [6] }],
      [{ cls: "TFOpLambda", name: "tf.math.bessel_i0e", config: { function: "math.bessel_i0e" }, calls: [["x"]] }],
      ["tf.math.bessel_i0e"],
    ),
    [],
    /layer tf\.math\.bessel_i0e \(TFOpLambda\): function="math\.bessel_i0e" is not in the table of known tf\.\* functions/,
  );
  refusal(
    "an option not implemented",
    sequential("opt", [4, 4, 2], [["Conv2DTranspose", { filters: 2, kernel_size: [3, 3], groups: 2 }]]),
    [weight("opt_0_conv2dtranspose/kernel:0", [3, 3, 1, 2]), weight("opt_0_conv2dtranspose/bias:0", [2])],
    /layer opt_0_conv2dtranspose \(Conv2DTranspose\): groups=2 is not implemented/,
  );
  refusal(
    "a config whose shapes do not match the weights",
    sequential("mlp", [6], [["Dense", { units: 5 }]]),
    denseWeights(),
    /layer mlp_0_dense \(Dense\): weight kernel is \[6,4\] in the weights file, the config wants \[6,5\]/,
  );
  refusal(
    "weights of a layer the config lacks",
    denseConfig,
    [...denseWeights(), weight("other/kernel:0", [2, 2])],
    /layer other .*: weights are in the file but the model config has no such layer/,
  );
  refusal(
    "a mask reaching a layer that would use it",
    sequential(
      "mz",
      [5],
      [
        ["Embedding", { input_dim: 7, output_dim: 4, mask_zero: true }],
        ["GlobalAveragePooling1D", {}],
      ],
      "int32",
    ),
    [weight("mz_0_embedding/embeddings:0", [7, 4])],
    /layer mz_1_globalaveragepooling1d \(GlobalAveragePooling1D\): an input mask \(from Embedding mask_zero=true or Masking\) is not implemented/,
  );
  refusal("a subclassed model", { class_name: "MyModel", config: { name: "m" } }, [weight("dense/kernel:0", [2, 2])], /subclassed MyModel/);

  it("refuses real files with custom layers or subclassed models", () => {
    const hgq = runCli(["convert", "fixtures/keras/real/hgq_jet_classifier.h5", join(dir, "hgq.onnx")]);
    expect(hgq.code).toBe(1);
    expect(hgq.stderr).toMatch(/layer inp_q_quantizer \(FixedPointQuantizer\): class is a custom or unsupported layer class.*--weights-only/);
    const nested = runCli(["convert", "fixtures/keras/real/nested_container.keras", join(dir, "nested.onnx")]);
    expect(nested.code).toBe(1);
    expect(nested.stderr).toMatch(/subclassed NestedDenseModel.*--weights-only/);
    expect(existsSync(join(dir, "hgq.onnx")) || existsSync(join(dir, "nested.onnx"))).toBe(false);
  }, 180_000);
});
