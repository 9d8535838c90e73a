import { WeightbridgeError } from "../errors.js";
import type { Checkpoint, JsonValue } from "../tensor/checkpoint.js";
import type { Graph } from "../graph/ir.js";
import { KerasConfigError } from "../keras/config-graph.js";
import { DEFAULT_OPSET, OPSETS, kerasToGraph, type KerasGraph } from "../graph/from-keras/lower.js";
import { KerasLoweringError } from "../graph/from-keras/errors.js";
import { read, type Input } from "./open.js";
import { resolveKerasConfig, type KerasConfigOption } from "./keras-config.js";
import { knownFormat } from "../formats/index.js";

// The graph-level library API: a source's architecture as the neutral graph (nodes, inputs,
// outputs, initializers that are the file's own tensors), for a script to inspect or write.
// Today the architecture comes from a Keras model config (model.save .h5, .keras, a SavedModel's
// keras_metadata.pb, or --keras-config beside a weights file).

export interface ModelGraphOptions {
  /** ai.onnx opset the nodes follow (13 to 17; default 17). */
  opset?: number;
  /** Image inputs (rank >= 3) taken [N, C, ...spatial] instead of Keras' channels-last. */
  inputsChannelsFirst?: boolean;
  /** A Keras model config (`model.to_json()`: a file's path or the parsed config) for a weights file without one. */
  kerasConfig?: KerasConfigOption;
}

export type OpenGraph = { graph: Graph; close(): Promise<void> };

/** The Keras model config a checkpoint carries (or was given), if its format's config lowers to a graph. */
export function kerasModelConfig(checkpoint: Checkpoint, given?: JsonValue): JsonValue | undefined {
  const config = knownFormat(checkpoint.format)?.modelConfig;
  if (!config?.lowersToGraph) return undefined;
  return given ?? checkpoint.meta[config.metaKey];
}

/** The Keras major version whose layer definitions a Keras checkpoint follows (its format's, or its keras_version). */
export function kerasMajor(checkpoint: Checkpoint): number {
  const fixed = knownFormat(checkpoint.format)?.modelConfig?.kerasMajor;
  if (fixed !== undefined) return fixed;
  const v = checkpoint.meta.keras_version;
  return typeof v === "string" && /^3\./.test(v) ? 3 : 2;
}

export function checkOpset(opset: number | undefined): number {
  const n = opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(n) || n < OPSETS.min || n > OPSETS.max)
    throw new WeightbridgeError("usage", `--opset must be an integer from ${OPSETS.min} to ${OPSETS.max}`);
  return n;
}

/** Lowers a Keras checkpoint's model to the graph; refusals are one-line errors that name the layer. */
export function graphOfKeras(checkpoint: Checkpoint, config: JsonValue, options: ModelGraphOptions = {}): KerasGraph {
  try {
    return kerasToGraph(config, checkpoint.tensors, {
      opset: checkOpset(options.opset),
      kerasMajor: kerasMajor(checkpoint),
      inputsChannelsFirst: options.inputsChannelsFirst,
    });
  } catch (e) {
    if (e instanceof KerasLoweringError || e instanceof KerasConfigError) {
      throw new WeightbridgeError("unsupported", `${e.message}; no runnable graph (--weights-only writes the weights alone)`);
    }
    throw e;
  }
}

/** Reads `input` and returns its model graph; close() releases the file the initializers read from. */
export async function modelGraph(input: Input, options: ModelGraphOptions = {}): Promise<OpenGraph> {
  const given = await resolveKerasConfig(options.kerasConfig);
  const source = await read(input, { modelConfig: given });
  try {
    const config = kerasModelConfig(source, given);
    if (config === undefined) {
      throw new WeightbridgeError(
        "unsupported",
        `the input (${source.format ?? "unknown format"}) holds no Keras model architecture: give the model.save file or --keras-config`,
      );
    }
    return { graph: graphOfKeras(source, config, options), close: () => source.close() };
  } catch (e) {
    await source.close();
    throw e;
  }
}
