import type { Tensor } from "../../tensor/tensor.js";
import type { DType } from "../../tensor/dtype.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { readKerasModel, type KerasCall } from "../../keras/config-graph.js";
import type { Dim, Graph, ValueInfo } from "../ir.js";
import { Lowering } from "./context.js";
import { KerasLoweringError } from "./errors.js";
import { withMasks } from "./masking.js";
import { handlerFor } from "./registry.js";
import { weightsByLayer } from "./weights.js";
import "./families.js";

// A Keras model (its config and its weights) lowered to the neutral graph: one call at a time
// through the handler its class registered, values held channels-first inside where
// convolutions want them, graph inputs and outputs in Keras' own shapes (batch symbolic).

export interface KerasToGraphOptions {
  /** ai.onnx opset of the nodes (13 to 17). */
  opset?: number;
  /** Keras major version of the file (activation definitions); default 2. */
  kerasMajor?: number;
  /** Image inputs (rank >= 3) taken channels-first ([N, C, ...spatial]). */
  inputsChannelsFirst?: boolean;
}

export const DEFAULT_OPSET = 17;
export const OPSETS = { min: 13, max: 17 };

function inputDtype(keras: string): DType {
  if (keras === "int32" || keras === "int64" || keras === "float64" || keras === "float16") return keras;
  return "float32";
}

function refuseUnknown(call: KerasCall): never {
  const { name, className, config } = call.layer;
  if (className === "Lambda") throw new KerasLoweringError(name, className, "function", "is Python bytecode in the config, which is never run");
  if (className === "TFOpLambda" || className === "SlicingOpLambda") {
    throw new KerasLoweringError(name, className, `function=${JSON.stringify(config.function)}`, "is not in the table of known tf.* functions");
  }
  throw new KerasLoweringError(name, className, "class", "is a custom or unsupported layer class");
}

/** The graph with, for the report, each weight initializer's sources in the file and layout changes. */
export interface KerasGraph extends Graph {
  weights: GraphWeight[];
}

export interface GraphWeight {
  initializer: Tensor;
  sources: Tensor[];
  transforms: string[];
}

export function kerasToGraph(modelConfig: JsonValue | undefined, tensors: readonly Tensor[], options: KerasToGraphOptions = {}): KerasGraph {
  const opset = options.opset ?? DEFAULT_OPSET;
  const model = readKerasModel(modelConfig);
  const weights = weightsByLayer(tensors);
  const lower = new Lowering({ opset, kerasMajor: options.kerasMajor ?? 2 }, weights);
  const values = lower.values;
  const inputs: ValueInfo[] = model.inputs.map((input) => {
    const shape: Dim[] = input.shape.map((d, i) => d ?? (i === 0 ? "batch" : `${input.name}_dim${i}`));
    const dtype = inputDtype(input.dtype);
    const first = options.inputsChannelsFirst === true && shape.length >= 3;
    lower.reserve(input.name);
    values.set(input.name, { name: input.name, shape, dtype, channelsFirst: first });
    const held = first ? [shape[0]!, shape[shape.length - 1]!, ...shape.slice(1, -1)] : shape;
    return { name: input.name, dtype, shape: held };
  });
  const lowered = new Set<string>();
  for (const call of model.calls) {
    lower.call = call;
    const handler = handlerFor(call.layer.className);
    if (!handler) refuseUnknown(call);
    const xs = call.inputs.map((name) => values.get(name)!);
    const result = handler(lower, xs, call);
    const outs = withMasks(lower, xs, Array.isArray(result) ? result : [result]);
    if (outs.length !== call.outputs.length) {
      if (outs.length < call.outputs.length) lower.refuse(`${call.outputs.length} outputs`, "are used but the layer gives fewer");
    }
    call.outputs.forEach((name, i) => values.set(name, outs[i]!));
    lowered.add(call.layer.name);
  }
  const unused = lower.unusedWeights(lowered);
  if (unused.length) {
    const { layer, tensor } = unused[0]!;
    const cls = model.calls.find((c) => c.layer.name === layer)!.layer.className;
    throw new KerasLoweringError(
      layer,
      cls,
      `weight ${tensor.name}`,
      "is in the weights file but not used by the layer's config: the config does not match the weights",
    );
  }
  for (const layer of weights.keys()) {
    if (!lowered.has(layer))
      throw new KerasLoweringError(layer, "?", "weights", "are in the file but the model config has no such layer: the config does not match the weights");
  }
  const outputs: ValueInfo[] = model.outputs.map((name) => {
    const call = model.calls.find((c) => c.outputs.includes(name));
    if (call) lower.call = call;
    const v = lower.toLast(values.get(name)!);
    const outName = lower.fresh(name === v.name ? `${name}_output` : name);
    lower.node("Identity", [v.name], {}, 1, [outName]);
    return { name: outName, dtype: v.dtype, shape: v.shape };
  });
  const fromFile = new Set(tensors);
  const graphWeights = lower.initializers.flatMap((t): GraphWeight[] => {
    const layout = lower.layouts.get(t.name);
    if (layout) return [{ initializer: t, ...layout }];
    return fromFile.has(t) ? [{ initializer: t, sources: [t], transforms: [] }] : [];
  });
  return { name: model.name, opset, inputs, outputs, nodes: lower.nodes, initializers: lower.initializers, weights: graphWeights };
}
