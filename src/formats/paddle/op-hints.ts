import type { LayerHint } from "../../tensor/tensor.js";
import type { LayerKind } from "../../tensor/layer-kinds.js";
import type { OpAttr, OpDesc, ProgramDesc } from "./program.js";
import { classKinds } from "../../vocabulary/layers.js";

/** The kind of a weight an op consumes is the vocabulary's (vocabulary/layers.ts); which input slots hold weights is the op's schema. */
const OP_KINDS = classKinds("paddle");

const WEIGHT_SLOTS: Record<string, string[]> = {
  matmul_v2: ["Y"],
  matmul: ["Y"],
  mul: ["Y"],
  fc: ["W", "Bias"],
  conv2d: ["Filter", "Bias"],
  conv3d: ["Filter", "Bias"],
  depthwise_conv2d: ["Filter", "Bias"],
  conv2d_transpose: ["Filter", "Bias"],
  conv3d_transpose: ["Filter", "Bias"],
  depthwise_conv2d_transpose: ["Filter", "Bias"],
  batch_norm: ["Scale", "Bias", "Mean", "Variance"],
  sync_batch_norm: ["Scale", "Bias", "Mean", "Variance"],
  layer_norm: ["Scale", "Bias"],
  group_norm: ["Scale", "Bias"],
  instance_norm: ["Scale", "Bias"],
  lookup_table_v2: ["W"],
  lookup_table: ["W"],
  lstm: ["Weight", "Bias"],
  gru: ["Weight", "Bias"],
  rnn: ["WeightList"],
  prelu: ["Alpha"],
};

/** Attributes worth passing to mapping rules (layouts and groupings, not op bookkeeping). */
const KEPT_ATTRS = new Set([
  "trans_x",
  "trans_y",
  "x_num_col_dims",
  "y_num_col_dims",
  "groups",
  "data_format",
  "data_layout",
  "strides",
  "paddings",
  "dilations",
  "mode",
  "is_bidirec",
  "num_layers",
  "hidden_size",
]);

/** The ops that add a bias to the output of a weight op (linear and conv biases in dygraph exports). */
const BIAS_ADD = new Set(["elementwise_add"]);

function attrValue(a: OpAttr): unknown {
  switch (a.type) {
    case 0:
      return a.i;
    case 1:
      return a.f;
    case 2:
      return a.s;
    case 3:
      return [...a.ints];
    case 4:
      return [...a.floats];
    case 5:
      return [...a.strings];
    case 6:
      return a.b;
    case 7:
      return [...a.bools];
    case 9:
      return a.l === undefined ? undefined : Number(a.l.toString());
    case 11:
      return a.longs.map((l) => Number(l.toString()));
    default:
      return undefined;
  }
}

function keptAttributes(op: OpDesc): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const a of op.attrs) {
    if (!a.name || !KEPT_ATTRS.has(a.name)) continue;
    const v = attrValue(a);
    if (v !== undefined) out[a.name] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function argumentsOf(slots: OpDesc["inputs"], name: string): string[] {
  return slots.filter((s) => s.parameter === name).flatMap((s) => s.arguments);
}

function hintFor(op: OpDesc, kind: LayerKind): LayerHint {
  const hint: LayerHint = { kind, framework: "paddle", className: op.type! };
  if (op.type === "rnn") {
    const mode = op.attrs.find((a) => a.name === "mode")?.s;
    if (mode === "GRU") hint.kind = "gru";
    else if (mode === "RNN_TANH" || mode === "RNN_RELU") hint.kind = "rnn";
  }
  const attributes = keptAttributes(op);
  if (attributes) hint.attributes = attributes;
  return hint;
}

/**
 * Layer hints for the persistable variables of a program, from the ops that consume them:
 * conv2d's Filter is a conv2d weight, matmul_v2's Y a linear weight, and the Y of an
 * elementwise_add applied to such an op's output is that layer's bias.
 */
export function layerHintsFromProgram(program: ProgramDesc, persistable: ReadonlySet<string>): Map<string, LayerHint> {
  const hints = new Map<string, LayerHint>();
  const producedBy = new Map<string, LayerHint>();
  for (const block of program.blocks) {
    for (const op of block.ops) {
      const type = op.type ?? "";
      const slots = WEIGHT_SLOTS[type];
      const kind = OP_KINDS[type];
      if (slots && kind) {
        const weights = slots.flatMap((s) => argumentsOf(op.inputs, s)).filter((n) => persistable.has(n));
        if (weights.length > 0) {
          const hint = hintFor(op, kind);
          for (const w of weights) if (!hints.has(w)) hints.set(w, hint);
          for (const out of op.outputs.flatMap((s) => s.arguments)) producedBy.set(out, hint);
        }
      } else if (BIAS_ADD.has(type)) {
        const [x] = argumentsOf(op.inputs, "X");
        const owner = x === undefined ? undefined : producedBy.get(x);
        for (const y of argumentsOf(op.inputs, "Y")) {
          if (owner && persistable.has(y) && !hints.has(y)) hints.set(y, owner);
        }
      }
    }
  }
  return hints;
}
