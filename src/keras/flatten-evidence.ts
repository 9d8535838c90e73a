import type { JsonValue } from "../tensor/checkpoint.js";
import { KEEPS_CHANNELS } from "./model-config.js";
import { KerasConfigError, readKerasModel, type KerasLayer, type KerasModelGraph } from "./config-graph.js";
import { floatKerasClass } from "./quantized-layers.js";

// Which Dense layers read a Flatten of a channels-last feature map, and how many channels that
// map has: what a channels-first framework needs to reorder the Dense kernel's rows. Followed
// along the call graph of the model config (readKerasModel, nested models inlined); a layer whose
// effect on the channel axis is not known here (a custom layer) between a feature map and a
// Flatten is named on the Dense it feeds, and the mapping refuses instead of guessing. Shared by
// the readers of files that hold Keras model configs (Keras HDF5 / .keras, TensorFlow SavedModels).

/** What the tensor leaving a layer looks like, as far as the channel axis goes. */
interface Flow {
  /** Channels on the last axis of a feature map (rank > 2), when known. */
  channels?: number;
  /** Set right after a Flatten of a known feature map: the channels it flattened. */
  flattened?: number;
  /** The feature map is channels_first (the evidence stops there). */
  channelsFirst?: boolean;
  /** A layer of unknown effect on the channels had a feature map as input: `name (Class)`. */
  blockedBy?: string;
  /** Set right after a Flatten of a map some unknown layer changed: that layer. */
  flattenBlockedBy?: string;
}

/** What the files say about the input of a Dense that reads a Flatten. */
export type FlattenFinding = { channels: number } | { blockedBy: string };

const CONVS = /^(Conv[123]D|Convolution[123]D|Conv[123]DTranspose|Deconvolution2D|SeparableConv[12]D|SeparableConvolution[12]D)$/;
const GLOBAL_POOL = /^Global(Average|Max)Pool(ing)?[123]D$/;

function step(layer: KerasLayer, input: Flow): Flow {
  const c = layer.config;
  const className = floatKerasClass(layer.className);
  const channelsFirst = c.data_format === "channels_first" || input.channelsFirst === true;
  if (CONVS.test(className)) {
    return typeof c.filters === "number" ? { channels: c.filters, channelsFirst } : {};
  }
  if (className === "DepthwiseConv2D" || className === "DepthwiseConv1D") {
    const multiplier = typeof c.depth_multiplier === "number" ? c.depth_multiplier : 1;
    return input.channels !== undefined ? { channels: input.channels * multiplier, channelsFirst } : {};
  }
  if (className === "Flatten") {
    // Flatten(data_format="channels_first") permutes to channels-last first; either way a
    // channels_first map is beyond what is followed here.
    if (input.blockedBy !== undefined) return { flattenBlockedBy: input.blockedBy };
    if (input.channels === undefined || channelsFirst) return {};
    return { flattened: input.channels };
  }
  if (GLOBAL_POOL.test(className)) return {};
  if (KEEPS_CHANNELS.has(className)) return { ...input };
  if (input.channels !== undefined || input.blockedBy !== undefined) return { blockedBy: input.blockedBy ?? `${layer.name} (${layer.className})` };
  return {};
}

/** Finds, for each Dense that reads a Flatten, what the call graph says about the map it flattens. */
function walk(graph: KerasModelGraph): Map<string, FlattenFinding> {
  const out = new Map<string, FlattenFinding>();
  const flows = new Map<string, Flow>();
  for (const { layer, inputs, outputs } of graph.calls) {
    // A merge follows its first input, as Keras' own first inbound tensor.
    const input = (inputs[0] !== undefined ? flows.get(inputs[0]) : undefined) ?? {};
    const dense = floatKerasClass(layer.className) === "Dense";
    if (dense && !out.has(layer.name)) {
      if (input.flattened !== undefined) out.set(layer.name, { channels: input.flattened });
      else if (input.flattenBlockedBy !== undefined) out.set(layer.name, { blockedBy: input.flattenBlockedBy });
    }
    const flow = dense ? (typeof layer.config.units === "number" ? { channels: layer.config.units } : {}) : step(layer, input);
    for (const value of outputs) flows.set(value, flow);
  }
  return out;
}

/**
 * Dense layers of a Keras model config (nested models inlined) that read a Flatten of a
 * channels-last map: layer name → the number of channels flattened, or the unknown layer that
 * leaves it unknown. A config the reader cannot follow gives no findings (as a config without
 * layers does).
 */
export function flattenFindings(modelConfig: JsonValue | undefined): Map<string, FlattenFinding> {
  try {
    return walk(readKerasModel(modelConfig, { inputShapes: "optional" }));
  } catch (e) {
    if (e instanceof KerasConfigError) return new Map();
    throw e;
  }
}

/** The layer-hint attributes of a Dense with this finding: `flattenedFrom` or `flattenBlockedBy`. */
export function flattenAttributes(finding: FlattenFinding | undefined): Record<string, JsonValue> {
  if (!finding) return {};
  return "channels" in finding ? { flattenedFrom: { channels: finding.channels } } : { flattenBlockedBy: finding.blockedBy };
}
