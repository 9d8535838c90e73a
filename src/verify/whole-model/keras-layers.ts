import type { Tensor } from "../../tensor/tensor.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { ELEMENTWISE_MERGES, INFERENCE_IDENTITY, simpleAttributes } from "../../keras/model-config.js";
import { KERAS_LAYER_KINDS } from "../../keras/layer-kinds.js";
import { OpRegistry } from "../../graph/registry.js";
import { NotCheckable } from "../params.js";
import { Disagreement, type LayerSide, type Reference } from "../reference.js";
import { referenceFor } from "../references.js";
import { sideOf } from "../pairing.js";
import { seededRandom } from "../random.js";
import type { KerasNode } from "./keras-graph.js";
import { activate, softmax } from "./keras-activations.js";
import { conv, globalPool, pool } from "./keras-spatial.js";
import { bidirectional, embedding, masking, recurrent, selfAttention } from "./keras-sequence.js";
import { concatenate, cropping, dot, permute, repeatVector, upSampling, zeroPadding } from "./keras-moves.js";
import { elu, prelu, relu, rescaling, thresholdedRelu } from "./keras-pointwise.js";
import { convTranspose } from "./keras-transpose.js";
import { product, shaped, withLoadedSide, type Value } from "./value.js";

// Keras class → how the composed check computes it, one registration per layer family (as
// graph/from-keras registers its lowerings): the check looks a layer up here, never through an
// if-chain over class names. A handler that meets a configuration it does not cover throws
// notCovered; a class with no entry is not covered either.

/** A layer's output, or its outputs when it gives several (an RNN's return_state). */
export type ComposeHandler = (node: KerasNode, xs: Value[], tensors: readonly Tensor[]) => Value | Value[] | Promise<Value | Value[]>;
type OneInput = (node: KerasNode, x: Value, tensors: readonly Tensor[]) => Value | Value[] | Promise<Value | Value[]>;

const KERAS_DOMAIN = "keras";
const composers = new OpRegistry<ComposeHandler>();

function register(classNames: readonly string[], handler: ComposeHandler): void {
  for (const op of classNames) composers.register({ domain: KERAS_DOMAIN, op, since: 1, handler });
}

/** A layer of one input (every layer but the merges). */
function one(handler: OneInput): ComposeHandler {
  return (node, xs, tensors) => {
    if (xs.length !== 1) throw new NotCheckable(`layer ${node.name} (${node.className}) takes ${xs.length} inputs`);
    return handler(node, xs[0]!, tensors);
  };
}

function notCovered(node: KerasNode): NotCheckable {
  return new NotCheckable(`layer ${node.name} is a ${node.className} (not covered by the composed check)`);
}

const uncovered: ComposeHandler = one((node) => {
  throw notCovered(node);
});

/** How the composed check computes a layer of this class (a refusal when it is not covered). */
export function composerFor(className: string): ComposeHandler {
  return composers.lookup(KERAS_DOMAIN, className, 1) ?? uncovered;
}

// Merges: elementwise over same-shaped inputs, or concatenation on the last axis.

const ELEMENTWISE: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Subtract: (a, b) => a - b,
  Multiply: (a, b) => a * b,
  Average: (a, b) => a + b,
  Maximum: Math.max,
  Minimum: Math.min,
};

register(ELEMENTWISE_MERGES, (node, xs) => {
  for (const x of xs)
    if (x.shape.join() !== xs[0]!.shape.join())
      throw new NotCheckable(`layer ${node.name} merges shapes ${xs.map((v) => `[${v.shape.join(",")}]`).join(" and ")} (broadcasting is not covered)`);
  const f = ELEMENTWISE[node.className]!;
  const y = Float64Array.from(xs[0]!.data);
  for (const x of xs.slice(1)) for (let i = 0; i < y.length; i++) y[i] = f(y[i]!, x.data[i]!);
  if (node.className === "Average") for (let i = 0; i < y.length; i++) y[i]! /= xs.length;
  return { shape: xs[0]!.shape, data: y };
});

register(["Concatenate"], concatenate);
register(["Dot"], dot);

// Activations.

register(
  ["Activation"],
  one((node, x) => activate(x, node.config.activation, node)),
);
register(["ReLU"], one(relu));
register(["ELU"], one(elu));
register(["ThresholdedReLU"], one(thresholdedRelu));
register(["Rescaling"], one(rescaling));
register(
  ["Softmax"],
  one((node, x) => {
    if ((node.config.axis ?? -1) !== -1) throw notCovered(node);
    return softmax(x);
  }),
);
register(
  ["LeakyReLU"],
  one((node, x) => {
    const { alpha, negative_slope } = node.config;
    const slope = typeof alpha === "number" ? alpha : typeof negative_slope === "number" ? negative_slope : 0.3;
    return { shape: x.shape, data: x.data.map((v) => (v > 0 ? v : slope * v)) };
  }),
);

// Dropout-like layers: the identity at inference.

register(
  INFERENCE_IDENTITY,
  one((_node, x) => x),
);

// Sequences: the weighted ones are in BY_KIND below.

register(["Bidirectional"], one(bidirectional));
register(["Masking"], one(masking));

// Pooling, windowed and global.

/** A layer over a feature map (batch, spatial axes, channels): at least 3 axes. */
function spatial(handler: OneInput): OneInput {
  return (node, x, tensors) => {
    if (x.shape.length < 3) throw notCovered(node);
    return handler(node, x, tensors);
  };
}

for (const [max, kind] of [
  [true, "Max"],
  [false, "Average"],
] as const)
  for (const rank of [1, 2, 3]) {
    register([`${kind}Pooling${rank}D`], one(spatial((node, x) => pool(node, x, max))));
    register([`Global${kind}Pooling${rank}D`], one(spatial((node, x) => globalPool(node, x, max))));
  }

// Reshaping and moving values.

for (const rank of [1, 2, 3]) {
  register([`ZeroPadding${rank}D`], one(zeroPadding(rank)));
  register([`Cropping${rank}D`], one(cropping(rank)));
  register([`UpSampling${rank}D`], one(upSampling(rank)));
}
register(["Permute"], one(permute));
register(["RepeatVector"], one(repeatVector));

/** TimeDistributed: the inner layer on every step, the steps folded into the batch. */
register(
  ["TimeDistributed"],
  one(async (node, x, tensors) => {
    const inner = node.config.layer as { class_name?: string; config?: Record<string, JsonValue> } | undefined;
    if (!inner?.class_name || !inner.config || x.shape.length < 3) throw notCovered(node);
    const [N, T] = [x.shape[0]!, x.shape[1]!];
    const folded: Value = { shape: [N * T, ...x.shape.slice(2)], data: x.data };
    const y = await composerFor(inner.class_name)({ ...node, className: inner.class_name, config: inner.config }, [folded], tensors);
    if (Array.isArray(y)) throw notCovered(node);
    return { shape: [N, T, ...y.shape.slice(1)], data: y.data };
  }),
);

register(
  ["Flatten"],
  one((_node, x) => ({ shape: [x.shape[0]!, product(x.shape.slice(1))], data: x.data })),
);
register(
  ["Reshape"],
  one((node, x) => {
    const target = (node.config.target_shape as number[] | undefined) ?? [];
    const known = product(target.filter((d) => d !== -1));
    const shape = target.map((d) => (d === -1 ? product(x.shape.slice(1)) / known : d));
    if (product(shape) !== product(x.shape.slice(1)))
      throw new Disagreement(`layer ${node.name} reshapes [${x.shape.slice(1).join(",")}] to [${target.join(",")}]`);
    return { shape: [x.shape[0]!, ...shape], data: x.data };
  }),
);

// Weighted layers: every class of the layer vocabulary, computed through verify's reference
// forward pass for the kinds below (the table is keyed by kind, the one each class maps to).

type WeightedHandler = (node: KerasNode, x: Value, side: LayerSide<Tensor>, ref: Reference<unknown>, kind: string) => Promise<Value | Value[]>;

/** Runs a reference layer on rows of the last axis (Dense, norms). */
async function rowwise(
  ref: Reference<unknown>,
  side: LayerSide<Tensor>,
  x: Value,
  set: (plan: Record<string, unknown>, rows: number) => number,
): Promise<Value> {
  const plan = ref.plan(side, side, seededRandom(0)) as Record<string, unknown>;
  const rows = x.data.length / x.shape[x.shape.length - 1]!;
  const out = set(plan, rows);
  const y = await withLoadedSide(side, (loaded) => ref.forward(loaded, plan, x.data, "source"));
  return { shape: [...x.shape.slice(0, -1), out], data: y };
}

const dense: WeightedHandler = async (node, x, side, ref) => {
  const y = await rowwise(ref, side, x, (plan, rows) => {
    shaped(node, x, plan.in as number, `${plan.in} features`);
    Object.assign(plan, {
      batch: rows,
      outputs: Array.from({ length: plan.out as number }, (_, i) => i),
      support: Array.from({ length: plan.in as number }, (_, i) => i),
      flattened: undefined,
    });
    return plan.out as number;
  });
  return activate(y, node.config.activation, node);
};

const normalization: WeightedHandler = (node, x, side, ref, kind) => {
  const axis = node.config.axis ?? -1;
  const lastAxis = (a: unknown) => a === -1 || a === x.shape.length - 1;
  const last = lastAxis(axis) || (Array.isArray(axis) && axis.length === 1 && lastAxis(axis[0]));
  if (!last) throw new NotCheckable(`layer ${node.name} normalizes axis ${JSON.stringify(axis)} (only the last axis is covered)`);
  if (kind === "layernorm" && node.config.rms_scaling === true) throw new NotCheckable(`layer ${node.name} uses rms_scaling (not covered)`);
  return rowwise(ref, side, x, (plan, rows) => {
    shaped(node, x, plan.features as number, `${plan.features} features`);
    plan.batch = rows;
    return plan.features as number;
  });
};

const convolution: WeightedHandler = async (node, x, side, _ref, kind) => {
  if (x.shape.length < 3) throw notCovered(node);
  return activate(await conv(node, kind, side, x), node.config.activation, node);
};

const BY_KIND: Record<string, WeightedHandler> = {
  linear: dense,
  batchnorm: normalization,
  layernorm: normalization,
  embedding,
  conv_transpose1d: convTranspose,
  conv_transpose2d: convTranspose,
  conv_transpose3d: convTranspose,
  prelu: (node, x, side) => prelu(node, x, [...side.roles.values()]),
  lstm: recurrent,
  gru: recurrent,
  rnn: recurrent,
  ...Object.fromEntries(
    ["conv1d", "conv2d", "conv3d", "depthwise_conv1d", "depthwise_conv2d", "separable_conv1d", "separable_conv2d"].map((k) => [k, convolution]),
  ),
};

/** Weighted layers of several inputs, by kind (the rest take one). */
const BY_KIND_MULTI: Record<string, (node: KerasNode, xs: Value[], side: LayerSide<Tensor>, ref: Reference<unknown>) => Promise<Value>> = {
  mha: selfAttention,
};

register(Object.keys(KERAS_LAYER_KINDS), async (node, xs, tensors) => {
  const kind = KERAS_LAYER_KINDS[node.className]!;
  if (!tensors.length) throw new NotCheckable(`layer ${node.name} (${node.className}) has no weights in the source file`);
  const side = sideOf(tensors, "keras", { ...simpleAttributes(node.config), keras_major: node.kerasMajor });
  const multi = BY_KIND_MULTI[kind];
  if (multi) return multi(node, xs, side, referenceFor(kind)!);
  const compute = BY_KIND[kind];
  if (!compute) throw notCovered(node);
  return one((n, x) => compute(n, x, side, referenceFor(kind)!, kind))(node, xs, tensors);
});
