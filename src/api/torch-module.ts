import { WeightbridgeError } from "../errors.js";
import { atomicFileSink, checkOutputFolder, checkOutputPath, type ByteSink } from "../io/sink.js";
import { emitTorchModule, type TorchModule } from "../graph/to-torch/emit.js";
import type { Graph } from "../graph/ir.js";
import { utf8 } from "../util/bytes.js";
import { detectFormat, formatById, graphFormat } from "../formats/index.js";
import { openSource, read, type Input } from "./open.js";
import { graphOfKeras, kerasMajor, kerasModelConfig } from "./model-graph.js";
import { resolveKerasConfig, type KerasConfigOption } from "./keras-config.js";
import { checkWholeModel } from "../verify/whole-model/whole-model.js";
import type { VerifyRow } from "../verify/check.js";
import type { ConversionReport } from "./report.js";

// `convert SRC OUT.py`: the source's graph (an ONNX file's, or a Keras model's lowered) as PyTorch source (OUT.py, class Model) plus the
// state_dict of exactly that module (OUT.pth beside it), both written atomically: neither
// appears unless both are complete, and neither appears when the graph check disagrees.

export interface TorchModuleOptions {
  force?: boolean;
  /**
   * Run the source file and the graph the code is emitted from (written back as ONNX) in
   * onnxruntime on seeded inputs, and write nothing if they disagree (default true; skipped
   * with a warning when onnxruntime-node is not installed).
   */
  check?: boolean;
  /** A Keras model config (`model.to_json()`: a file's path or the parsed config) for a Keras weights file without one. */
  kerasConfig?: KerasConfigOption;
}

/** Whether OUT names a Python module (the PyTorch source target). */
export function isPythonOutput(output: string): boolean {
  return output.toLowerCase().endsWith(".py");
}

/** OUT.py → OUT.pth */
export function weightsPathFor(output: string): string {
  return output.replace(/\.py$/i, ".pth");
}

export interface TorchModuleReport extends ConversionReport {
  weights: string;
  /** The graph check: source file vs the graph the code was emitted from, both in onnxruntime. */
  graphCheck?: VerifyRow;
}

export async function convertToTorchModule(input: Input, output: string, options: TorchModuleOptions = {}): Promise<TorchModuleReport> {
  const weights = weightsPathFor(output);
  await checkOutputFolder(output);
  await checkOutputPath(output, options.force);
  await checkOutputPath(weights, options.force);
  const source = await sourceGraph(input, options);
  try {
    const module = await emitTorchModule(source.graph);
    const graphCheck = options.check === false ? undefined : await source.check();
    if (graphCheck?.verdict === "disagrees") {
      throw new WeightbridgeError(
        "verification",
        `the graph the code would be emitted from computes other values than the source (${graphCheck.reason ?? `max relative error ${graphCheck.maxRel}`}); nothing written`,
        { file: source.name },
      );
    }
    await writeBoth(module, output, weights, options.force);
    return reportOf(source.name, source.format, output, weights, source.graph, module, graphCheck);
  } finally {
    await source.close();
  }
}

interface SourceGraph {
  graph: Graph;
  name: string;
  format: string;
  /** The graph (encoded back to ONNX) run against the source: the ONNX file itself, or the Keras layers composed along the config. */
  check(): Promise<VerifyRow>;
  close(): Promise<void>;
}

/** The source's graph: an ONNX file's own, or the Keras model's lowered (keras-h5, .keras, SavedModel, --keras-config). */
async function sourceGraph(input: Input, options: TorchModuleOptions): Promise<SourceGraph> {
  const source = await openSource(input);
  const { format } = await detectFormat(source).catch(async (e) => {
    await source.close();
    throw e;
  });
  const { readGraph, framework } = format;
  if (readGraph && framework !== undefined) {
    try {
      const graph = await readGraph(source);
      const file = typeof input === "string" ? input : await source.read(0, source.size);
      // The emitted code is a function of the graph read from the file: that graph (encoded back to
      // ONNX) runs against the file itself in onnxruntime, so a lost attribute or a misread
      // initializer stops the conversion. What each op's torch code computes is checked by the
      // conformance suite (the ONNX backend node tests run in torch).
      const check = async () =>
        checkWholeModel({
          source: { format: format.id, tensors: [], meta: {} },
          converted: { format: "onnx", tensors: graph.initializers, meta: {} },
          sourceFramework: framework,
          sourceIsGraph: format.runsInOnnxruntime === true,
          sourceFile: file,
          convertedFile: await graphFormat().encodeGraph(graph),
        });
      return { graph, name: source.name, format: format.id, check, close: () => source.close() };
    } catch (e) {
      await source.close();
      throw e;
    }
  }
  await source.close();
  const given = await resolveKerasConfig(options.kerasConfig);
  const checkpoint = await read(input, { modelConfig: given });
  try {
    const config = kerasModelConfig(checkpoint, given);
    if (config === undefined) {
      throw new WeightbridgeError(
        "unsupported",
        `PyTorch source is generated from a model graph: an ONNX file or a Keras model with its architecture (this ${checkpoint.format ?? "file"} holds none; give --keras-config for a weights-only Keras file)`,
        { file: source.name },
      );
    }
    const graph = graphOfKeras(checkpoint, config);
    const check = async () =>
      checkWholeModel({
        source: checkpoint,
        converted: { format: "onnx", tensors: graph.initializers, meta: {} },
        sourceFramework: "keras",
        convertedFile: await graphFormat().encodeGraph(graph),
        kerasConfig: config,
        kerasMajor: kerasMajor(checkpoint),
      });
    return { graph, name: source.name, format: checkpoint.format ?? "keras", check, close: () => checkpoint.close() };
  } catch (e) {
    await checkpoint.close();
    throw e;
  }
}

async function writeBoth(module: TorchModule, output: string, weights: string, force?: boolean): Promise<void> {
  const sinks: ByteSink[] = [];
  try {
    const pth = await atomicFileSink(weights, { force });
    sinks.push(pth);
    const torch = formatById("pytorch");
    await torch.write!({ format: torch.id, tensors: module.state, meta: {} }, pth, {});
    const py = await atomicFileSink(output, { force });
    sinks.push(py);
    await py.write(utf8(module.source));
    await pth.commit();
    await py.commit();
  } catch (e) {
    for (const s of sinks) await s.abort();
    throw e;
  }
}

function reportOf(input: string, from: string, output: string, weights: string, graph: Graph, module: TorchModule, graphCheck?: VerifyRow): TorchModuleReport {
  return {
    input,
    output,
    weights,
    from,
    to: "pytorch-module",
    tensors: module.state.map((t, i) => ({ source: module.sources[i]!, target: t.name, shape: t.shape, dtype: t.dtype, targetDtype: t.dtype, transforms: [] })),
    unmatched: [],
    missing: [],
    dropped: graph.initializers.filter((t) => !module.sources.includes(t.name)).map((t) => t.name),
    added: [],
    mismatched: [],
    warnings: graphCheck && graphCheck.verdict !== "agrees" ? [`graph check not run: ${graphCheck.reason}`] : [],
    ...(graphCheck ? { graphCheck } : {}),
  };
}
