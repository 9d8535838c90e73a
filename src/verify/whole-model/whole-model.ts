import { conventionOf, namingOf } from "../../vocabulary/conventions.js";
import type { Checkpoint, JsonValue } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Framework } from "../reference.js";
import type { FormatFacts } from "../format-facts.js";
import type { VerifyRow } from "../check.js";
import { Disagreement } from "../reference.js";
import { NotCheckable } from "../params.js";
import { closeness, type Closeness } from "../compare.js";
import { layerSeed, seededRandom } from "../random.js";
import { groupLayers, withKerasNames } from "../pairing.js";
import { ENABLE_HINT, onnxRuntime } from "./runtime.js";
import type { GraphFile } from "./graph-file.js";
import { commonInputs, graphInputs, openGraph, runGraph, seededValues, tensorOf, type GraphInput, type GraphOutput } from "./onnx-run.js";
import { piecewiseInputs, runGraphInPieces, type EncodeGraph } from "./graph-chunks.js";
import type { Graph } from "../../graph/ir.js";
import { composeKeras, kerasGraph, type Value } from "./keras-compose.js";
import { embeddingIds } from "./keras-sequence.js";
import { product } from "./value.js";

// The whole-model check: when the converted file is an ONNX graph, run it on seeded inputs and
// compare its outputs with the source computed the same way — the source's own ONNX graph run by
// onnxruntime, or a Keras source's reference layers composed along its model config. It sees
// what no single-layer check can: a layer that received another layer's (same-shaped) weights,
// a wrong connection or a layout change between layers.

export const WHOLE_MODEL = "(whole model)";

/** Float32 graphs compared after many layers: looser than one layer's 1e-5. */
export const WHOLE_MODEL_RTOL = 1e-4;

export interface WholeModelInputs {
  source: Checkpoint;
  converted: Checkpoint;
  sourceFramework: Framework;
  /** The source is a graph onnxruntime runs too (an ONNX file), not weights with a Keras config (default: its framework is ONNX's). */
  sourceIsGraph?: boolean;
  /** The files onnxruntime loads (paths keep external data beside them). */
  sourceFile?: GraphFile;
  convertedFile?: GraphFile;
  /** The source's Keras model config (model.save .h5: model_config; .keras: config.json; or --keras-config). */
  kerasConfig?: JsonValue;
  /** The Keras major version that wrote the source (default 2): definitions that changed (hard_sigmoid) follow it. */
  kerasMajor?: number;
  /**
   * The converted file's graph as read back, run piece by piece (graph-chunks.ts) instead of in one
   * session: memory holds one piece's weights, not the model's. Its outputs are the same.
   */
  convertedGraph?: { graph: Graph; encode: EncodeGraph };
}

function row(inputs: WholeModelInputs, how: string): VerifyRow {
  return { layer: WHOLE_MODEL, kind: how, sourceFramework: inputs.sourceFramework, targetFramework: "onnx", source: [], target: [], verdict: "not-checkable" };
}

/** Whether the whole-model check applies: the converted file is an ONNX graph (nodes consume its weights). */
export function wholeModelApplies(converted: Checkpoint, format: FormatFacts | undefined): boolean {
  return format?.runsInOnnxruntime === true && converted.tensors.some((t) => t.layer?.className !== undefined);
}

export async function checkWholeModel(inputs: WholeModelInputs, options: { rtol?: number; seed?: number } = {}): Promise<VerifyRow> {
  const onnxSource = inputs.sourceIsGraph ?? namingOf(inputs.sourceFramework) === "graph-input";
  const how = onnxSource ? "ONNX graph vs ONNX graph" : "Keras config composed vs ONNX graph";
  const base = row(inputs, how);
  if (!onnxSource && !conventionOf(inputs.sourceFramework)?.composableConfig) {
    return {
      ...base,
      kind: "graph",
      reason: `the source (${inputs.source.format ?? inputs.sourceFramework}) holds weights, no graph to run: convert from its ONNX export or a Keras model.save file for this check`,
    };
  }
  if (!onnxSource && inputs.kerasConfig === undefined) {
    return { ...base, reason: "the Keras source holds no model config (save_weights): give the model.save file (or --keras-config) for this check" };
  }
  if ((!inputs.convertedFile && !inputs.convertedGraph) || (onnxSource && !inputs.sourceFile))
    return { ...base, reason: "the ONNX file is not at hand (a checkpoint object was given, or a graph with external data in convert --verify's temporaries)" };
  const ort = await onnxRuntime();
  if (!ort) return { ...base, reason: ENABLE_HINT };
  try {
    const pieces = !onnxSource ? inputs.convertedGraph : undefined;
    const converted = pieces ? undefined : await openGraph(ort, inputs.convertedFile!, "converted");
    let wanted = pieces ? piecewiseInputs(pieces.graph) : graphInputs(converted!);
    const random = seededRandom(layerSeed(options.seed ?? 0, WHOLE_MODEL));
    let source: GraphOutput[];
    let target: GraphOutput[];
    let idInputs: string[] = [];
    if (onnxSource) {
      const session = await openGraph(ort, inputs.sourceFile!, "source");
      const common = commonInputs(graphInputs(session), wanted);
      const values = common.map((g) => seededValues(g, random));
      source = await runGraph(ort, session, common, values, "source");
      target = await runGraph(
        ort,
        converted!,
        common.map((g, i) => ({ ...g, name: wanted[i]!.name })),
        values,
        "converted",
      );
      wanted = common;
    } else {
      ({
        source,
        target,
        inputs: wanted,
        idInputs,
      } = await kerasAgainstGraph(inputs, wanted, random, (fed, values) =>
        pieces
          ? runGraphInPieces(ort, pieces.graph, pieces.encode, fed, values, (input, v) => tensorOf(ort, input, v))
          : runGraph(ort, converted!, fed, values, "converted"),
      ));
    }
    if (source.length !== target.length) throw new Disagreement(`the source computes ${source.length} outputs, the converted graph ${target.length}`);
    let worst: Closeness = { maxAbs: 0, maxRel: 0 };
    for (let i = 0; i < source.length; i++) {
      const [a, b] = [source[i]!, target[i]!];
      if (a.values.length !== b.values.length)
        throw new Disagreement(`output ${i + 1} has ${a.values.length} values in the source, ${b.values.length} in the converted graph`);
      const c = closeness(a.values, b.values);
      if (c.maxRel > worst.maxRel || c.maxAbs > worst.maxAbs) worst = { maxAbs: Math.max(worst.maxAbs, c.maxAbs), maxRel: Math.max(worst.maxRel, c.maxRel) };
    }
    const rtol = Math.max(options.rtol ?? WHOLE_MODEL_RTOL, dtypeRtol(inputs.converted.tensors));
    return {
      ...base,
      source: source.map((o) => o.name),
      target: target.map((o) => o.name),
      ...worst,
      rtol,
      verdict: worst.maxRel <= rtol ? "agrees" : "disagrees",
      notes: [
        `inputs ${describe(wanted)} seeded uniform in [-1, 1)${idInputs.length ? ` (${idInputs.join(", ")}: Embedding ids over the table's rows)` : ""}; ${source.length} output${source.length === 1 ? "" : "s"} compared`,
      ],
    };
  } catch (e) {
    if (e instanceof Disagreement) return { ...base, verdict: "disagrees", reason: e.message };
    if (e instanceof NotCheckable) return { ...base, reason: e.message };
    throw e;
  }
}

function dtypeRtol(tensors: readonly Tensor[]): number {
  if (tensors.some((t) => t.dtype === "bfloat16")) return 3e-2;
  if (tensors.some((t) => t.dtype === "float16")) return 5e-3;
  return 0;
}

function describe(inputs: readonly GraphInput[]): string {
  return inputs.map((i) => `${i.name} [${i.shape.join(",")}]`).join(", ");
}

/** Integer ids drawn uniformly from [from, to). */
function seededIds(count: number, { from, to }: { from: number; to: number }, random: () => number): Float64Array {
  return Float64Array.from({ length: count }, () => from + Math.floor(random() * (to - from)));
}

/** Channels-last [N, ...spatial, C] → channels-first [N, C, ...spatial]. */
function permute(v: Value): Float64Array {
  const N = v.shape[0]!;
  const C = v.shape[v.shape.length - 1]!;
  const P = v.data.length / N / C;
  const out = new Float64Array(v.data.length);
  for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) out[(n * C + c) * P + p] = v.data[(n * P + p) * C + c]!;
  return out;
}

/**
 * A Keras source against the converted graph: the graph's inputs say the batch size; an input
 * whose dims are Keras' channels-last shape reordered channels-first (a torch export of the
 * same model) is fed permuted, and outputs are brought back the same way.
 */
async function kerasAgainstGraph(
  inputs: WholeModelInputs,
  wanted: GraphInput[],
  random: () => number,
  run: (inputs: GraphInput[], values: Float64Array[]) => Promise<GraphOutput[]>,
): Promise<{ source: GraphOutput[]; target: GraphOutput[]; inputs: GraphInput[]; idInputs: string[] }> {
  const config = inputs.kerasConfig;
  const graph = kerasGraph(config, inputs.kerasMajor);
  const declared = graph.inputs;
  if (declared.length !== wanted.length) throw new Disagreement(`the Keras model takes ${declared.length} inputs, the converted graph ${wanted.length}`);
  const keras: Value[] = [];
  const fed: Float64Array[] = [];
  const channelsFirst: boolean[] = [];
  const resolved: GraphInput[] = [];
  const idInputs: string[] = [];
  declared.forEach((d, i) => {
    const g = wanted[i]!;
    const batch = g.shape[0]!;
    const dims = d.shape.slice(1);
    if (dims.some((x) => x === null)) throw new NotCheckable(`the Keras input ${d.name} has an unknown dimension [${d.shape.join(",")}]`);
    const shape = [batch, ...(dims as number[])];
    // The graph's dims in either layout; a symbolic one takes Keras' size.
    const fits = (order: number[]) => order.length === g.shape.length && order.every((d, k) => g.symbolic?.[k] || d === g.shape[k]);
    const channelsFirstShape = [batch, shape[shape.length - 1]!, ...shape.slice(1, -1)];
    const same = fits(shape);
    const first = shape.length >= 3 && fits(channelsFirstShape);
    if (!same && !first)
      throw new NotCheckable(
        `the Keras input ${d.name} is [${shape.join(",")}], the converted graph's ${g.name} [${g.shape.join(",")}]: they are not the same model's input`,
      );
    // Both fit when the channels equal a spatial size: a graph that starts with a convolution is channels-first.
    const cf = first && (!same || inputs.converted.tensors.some((t) => t.layer?.className === "Conv"));
    const ids = embeddingIds(graph, d.name);
    if (ids && ids.to <= ids.from) throw new NotCheckable(`the Keras input ${d.name} feeds an Embedding with no row to look up`);
    const v: Value = { shape, data: ids ? seededIds(product(shape), ids, random) : seededValues({ ...g, shape }, random) };
    if (ids) idInputs.push(g.name);
    keras.push(v);
    channelsFirst.push(cf);
    fed.push(cf ? permute(v) : v.data);
    resolved.push({ name: g.name, type: g.type, shape: cf ? channelsFirstShape : shape });
  });
  const layers = groupLayers(withKerasNames(inputs.source.tensors), "keras");
  const composed = await composeKeras(config, keras, (name) => layers.get(name) ?? [], inputs.kerasMajor);
  const target = await run(resolved, fed);
  const cfOut = channelsFirst.some((c) => c);
  const source = composed.map((v, i): GraphOutput => {
    const t = target[i];
    const back = t && cfOut && v.shape.length >= 3 && t.shape.join() !== v.shape.join();
    // The composed output in the graph's layout, to compare element by element.
    return { name: `output ${i + 1}`, shape: v.shape, values: back ? permute(v) : v.data };
  });
  return { source, target, inputs: resolved, idInputs };
}
