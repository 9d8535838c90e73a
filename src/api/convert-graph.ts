import { WeightbridgeError } from "../errors.js";
import type { Checkpoint, JsonValue } from "../tensor/checkpoint.js";
import { atomicFileSink, type ByteSink } from "../io/sink.js";
import { graphFormat } from "../formats/index.js";
import { checkWholeModel } from "../verify/whole-model/whole-model.js";
import { onnxRuntime } from "../verify/whole-model/runtime.js";
import { StreamDigests, referenceTensors } from "../verify/whole-model/written-weights.js";
import type { VerifyRow } from "../verify/check.js";
import { graphOfKeras, kerasMajor, type ModelGraphOptions } from "./model-graph.js";
import { read } from "./open.js";
import { pendingSource, sideFilePath } from "./write.js";
import type { ByteSource } from "../io/source.js";
import type { Graph } from "../graph/ir.js";
import type { TensorReport } from "../mapping/index.js";
import { graphTensorReports } from "./graph-report.js";
import { groupedFormatOptions, type FlatFormatOptions } from "./format-options.js";

// convert's runnable-graph path: a Keras source with its architecture becomes an ONNX graph
// (nodes, named inputs and outputs), written atomically; before the file appears, the
// whole-model check runs it in onnxruntime (when installed) against the reference layers
// composed along the config, and a disagreement means no output.

export interface GraphConvertOptions extends ModelGraphOptions, FlatFormatOptions {
  force?: boolean;
  /** false: skip the whole-model check; an object sets its tolerance and seed. */
  verify?: boolean | { rtol?: number; seed?: number };
  /** Opens the output instead of a temporary file beside it (the web page); no whole-model check then. */
  openSink?(path: string): Promise<ByteSink>;
}

export interface GraphWritten {
  warnings: string[];
  /** The report's tensors: each weight initializer, its sources and layout changes. */
  tensors: TensorReport[];
  wholeModel?: VerifyRow;
  nodes: number;
}

export async function writeKerasGraph(source: Checkpoint, config: JsonValue, output: string, options: GraphConvertOptions): Promise<GraphWritten> {
  const graph = graphOfKeras(source, config, options);
  const warnings: string[] = [];
  const open = (path: string) => (options.openSink ? options.openSink(path) : atomicFileSink(path, { force: options.force }));
  const sink = await open(output);
  // Side files (--external-data) are written beside OUT under temporary names too, committed before it.
  const sides: ByteSink[] = [];
  const siblingSink = async (name: string) => {
    const side = await open(sideFilePath(output, name));
    sides.push(side);
    return side;
  };
  let wholeModel: VerifyRow | undefined;
  try {
    const checking = options.verify !== false && sink.temporaryPath !== undefined && (await onnxRuntime()) !== undefined;
    // Checking, the source tensors written as they are get hashed on their way to the file, so the reference can read them back from it.
    const digests = checking ? await StreamDigests.create() : undefined;
    const fromSource = new Set(source.tensors);
    const toWrite = digests ? { ...graph, initializers: graph.initializers.map((t) => (fromSource.has(t) ? digests.watched(t) : t)) } : graph;
    await graphFormat().writeGraph(toWrite, sink, { formatOptions: groupedFormatOptions(options), warn: (m) => warnings.push(m), siblingSink });
    for (const s of [...sides, sink]) await s.drain?.();
    if (digests && sink.temporaryPath) {
      const converted = await read(await pendingSource(output, [sink, ...sides]), { format: "onnx" });
      const written = await pendingSource(output, [sink, ...sides]);
      try {
        const check = typeof options.verify === "object" ? options.verify : {};
        // The file as written, read back and run piece by piece: one piece's weights in memory at a time.
        const convertedGraph = await readBack(written);
        const file = convertedGraph ? {} : { convertedFile: sink.temporaryPath };
        const tensors = convertedGraph ? await referenceTensors(source.tensors, convertedGraph.graph, digests) : source.tensors;
        const reference = { ...source, tensors };
        wholeModel = await checkWholeModel(
          { source: reference, converted, sourceFramework: "keras", convertedGraph, ...file, kerasConfig: config, kerasMajor: kerasMajor(source) },
          check,
        );
      } finally {
        await written.close();
        await converted.close();
      }
      if (wholeModel.verdict === "disagrees") {
        const why = wholeModel.reason ?? `max rel error ${wholeModel.maxRel?.toExponential(2)} > ${wholeModel.rtol}`;
        throw new WeightbridgeError("verification", `the ONNX graph computes something else than the Keras model (${why}); nothing written`, { file: output });
      }
      if (wholeModel.verdict === "not-checkable") warnings.push(`whole-model check not run: ${wholeModel.reason}`);
    }
    for (const s of [...sides, sink]) await s.commit();
  } catch (e) {
    for (const s of [sink, ...sides]) await s.abort().catch(() => {});
    throw e;
  }
  return { warnings, wholeModel, nodes: graph.nodes.length, tensors: graphTensorReports(graph.weights) };
}

/** The written file's graph for the piecewise run; undefined when it cannot be read back so (its weights in external data beside a temporary). */
async function readBack(written: ByteSource): Promise<{ graph: Graph; encode: (graph: Graph) => Promise<Uint8Array> } | undefined> {
  const format = graphFormat();
  try {
    return { graph: await format.readGraph(written, { lazyWeights: true }), encode: format.encodeGraph };
  } catch {
    return undefined;
  }
}
