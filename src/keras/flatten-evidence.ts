import type { JsonValue } from "../tensor/checkpoint.js";
import { INFERENCE_IDENTITY } from "./model-config.js";
import { floatKerasClass } from "./quantized-layers.js";

// Which Dense layers read a Flatten of a channels-last feature map, and how many channels that
// map has: what a channels-first framework needs to reorder the Dense kernel's rows. Followed
// through the model config layer by layer (Sequential order, or a Functional model's inbound
// nodes); a layer whose effect on the channel axis is not known here (a custom layer) between a
// feature map and a Flatten is named on the Dense it feeds, and the mapping refuses instead of
// guessing. Shared by the readers of files that hold Keras
// model configs (Keras HDF5 / .keras, TensorFlow SavedModels).

type Config = Record<string, JsonValue>;

export interface ConfigLayer {
  className: string;
  config: Config;
}

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

/** Layers that leave the channel axis (and a pending flatten) as they found it. */
const KEEPS_CHANNELS = new Set([
  ...INFERENCE_IDENTITY, "InputLayer", "BatchNormalization", "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax",
  "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "MaxPool1D", "MaxPool2D",
  "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
  "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Masking",
  "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
]);

const CONVS = /^(Conv[123]D|Convolution[123]D|Conv[123]DTranspose|Deconvolution2D|SeparableConv[12]D|SeparableConvolution[12]D)$/;
const GLOBAL_POOL = /^Global(Average|Max)Pool(ing)?[123]D$/;

function step(layer: ConfigLayer, input: Flow): Flow {
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
  if (input.channels !== undefined || input.blockedBy !== undefined) return { blockedBy: input.blockedBy ?? `${String(c.name)} (${layer.className})` };
  return {};
}

function asObject(v: JsonValue | undefined): Config | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

/** The name of the (first) layer feeding a Functional layer: Keras 2 `[[["conv", 0, 0, {}]]]` or Keras 3 `keras_history`. */
function inboundName(nodes: JsonValue | undefined): string | undefined {
  const seen = (v: JsonValue | undefined, depth: number): string | undefined => {
    if (depth > 8 || v === null || v === undefined || typeof v !== "object") return undefined;
    if (Array.isArray(v)) {
      if (typeof v[0] === "string" && typeof v[1] === "number") return v[0];
      for (const x of v) {
        const found = seen(x, depth + 1);
        if (found) return found;
      }
      return undefined;
    }
    if (Array.isArray(v.keras_history) && typeof v.keras_history[0] === "string") return v.keras_history[0];
    for (const x of Object.values(v)) {
      const found = seen(x, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return seen(nodes, 0);
}

/**
 * Dense layers of one model (its layer list, Sequential or Functional) that read a Flatten of a
 * channels-last map: layer name → the number of channels flattened, or the unknown layer that
 * leaves it unknown.
 */
export function flattenedDenseInputs(layers: ReadonlyArray<ConfigLayer & { inbound?: JsonValue }>, functional: boolean): Map<string, FlattenFinding> {
  const out = new Map<string, FlattenFinding>();
  const flows = new Map<string, Flow>();
  let previous: Flow = {};
  for (const layer of layers) {
    const name = typeof layer.config.name === "string" ? layer.config.name : undefined;
    const from = functional ? inboundName(layer.inbound) : undefined;
    const input = functional ? (from !== undefined ? flows.get(from) ?? {} : {}) : previous;
    const dense = floatKerasClass(layer.className) === "Dense";
    if (dense && name !== undefined) {
      if (input.flattened !== undefined) out.set(name, { channels: input.flattened });
      else if (input.flattenBlockedBy !== undefined) out.set(name, { blockedBy: input.flattenBlockedBy });
    }
    const flow = dense ? (typeof layer.config.units === "number" ? { channels: layer.config.units } : {}) : step(layer, input);
    if (name !== undefined) flows.set(name, flow);
    previous = flow;
  }
  return out;
}

/** The layer entries of a model config object, with their inbound nodes (Functional). */
export function modelLayers(model: JsonValue | undefined): { layers: Array<ConfigLayer & { inbound?: JsonValue }>; functional: boolean } {
  const root = asObject(model);
  const list = Array.isArray(model) ? model : Array.isArray(root?.layers) ? root.layers : [];
  const layers: Array<ConfigLayer & { inbound?: JsonValue }> = [];
  let functional = false;
  for (const item of list) {
    const o = asObject(item);
    const config = asObject(o?.config);
    if (typeof o?.class_name !== "string" || !config) continue;
    if (o.inbound_nodes !== undefined) functional = true;
    layers.push({ className: o.class_name, config, inbound: o.inbound_nodes });
  }
  return { layers, functional };
}

/** The layer-hint attributes of a Dense with this finding: `flattenedFrom` or `flattenBlockedBy`. */
export function flattenAttributes(finding: FlattenFinding | undefined): Record<string, JsonValue> {
  if (!finding) return {};
  return "channels" in finding ? { flattenedFrom: { channels: finding.channels } } : { flattenBlockedBy: finding.blockedBy };
}
