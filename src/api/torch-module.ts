import { WeightbridgeError } from "../errors.js";
import { atomicFileSink, checkOutputFolder, checkOutputPath, type ByteSink } from "../io/sink.js";
import { readOnnxGraph } from "../formats/onnx/graph.js";
import { writeTorchZip } from "../formats/pytorch/write.js";
import { emitTorchModule, type TorchModule } from "../graph/to-torch/emit.js";
import type { Graph } from "../graph/ir.js";
import { utf8 } from "../util/bytes.js";
import { detectFormat } from "../formats/index.js";
import { openSource, type Input } from "./open.js";
import type { ConversionReport } from "./report.js";

// `convert SRC OUT.py`: the source's graph as PyTorch source (OUT.py, class Model) plus the
// state_dict of exactly that module (OUT.pth beside it), both written atomically: neither
// appears unless both are complete, and neither appears when the graph check disagrees.

export interface TorchModuleOptions {
  force?: boolean;
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
}

export async function convertToTorchModule(input: Input, output: string, options: TorchModuleOptions = {}): Promise<TorchModuleReport> {
  const weights = weightsPathFor(output);
  await checkOutputFolder(output);
  await checkOutputPath(output, options.force);
  await checkOutputPath(weights, options.force);
  const source = await openSource(input);
  try {
    const { format } = await detectFormat(source);
    if (format.id !== "onnx") throw new WeightbridgeError("unsupported", `PyTorch source is generated from ONNX graphs; this is ${format.name}: export it to ONNX first`, { file: source.name });
    const graph = await readOnnxGraph(source);
    const module = await emitTorchModule(graph);
    await writeBoth(module, output, weights, options.force);
    return reportOf(source.name, output, weights, graph, module);
  } finally {
    await source.close();
  }
}

async function writeBoth(module: TorchModule, output: string, weights: string, force?: boolean): Promise<void> {
  const sinks: ByteSink[] = [];
  try {
    const pth = await atomicFileSink(weights, { force });
    sinks.push(pth);
    await writeTorchZip({ format: "pytorch", tensors: module.state, meta: {} }, pth, {});
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

function reportOf(input: string, output: string, weights: string, graph: Graph, module: TorchModule): TorchModuleReport {
  return {
    input,
    output,
    weights,
    from: "onnx",
    to: "pytorch-module",
    tensors: module.state.map((t, i) => ({ source: module.sources[i]!, target: t.name, shape: t.shape, dtype: t.dtype, targetDtype: t.dtype, transforms: [] })),
    unmatched: [],
    missing: [],
    dropped: graph.initializers.filter((t) => !module.sources.includes(t.name)).map((t) => t.name),
    added: [],
    mismatched: [],
    warnings: [],
  };
}

