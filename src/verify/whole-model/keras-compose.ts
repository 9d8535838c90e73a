import type { Tensor } from "../../tensor/tensor.js";
import type { JsonValue } from "../../tensor/checkpoint.js";
import { NotCheckable } from "../params.js";
import { kerasGraph } from "./keras-graph.js";
import { composerFor } from "./keras-layers.js";
import type { Value } from "./value.js";

export type { Value } from "./value.js";

// A Keras model computed by composing the reference layers along its config: each weighted layer
// runs through its reference forward pass (the same code verify checks single layers with) on
// the previous layers' outputs, in Keras' channels-last layout. Covered: Dense, Conv1D/2D/3D
// (strides, dilation, valid or same padding), depthwise/separable conv likewise, max/average
// and global pooling, BatchNormalization and LayerNormalization on the last axis, activations,
// Dropout-like layers (identity at inference), Flatten, Reshape, Add/Subtract/Multiply/Average/
// Concatenate (any axis), Dot, Embedding, LSTM/GRU/SimpleRNN (go_backwards too) and Bidirectional
// (keras-sequence.ts), padding/cropping/upsampling/permute (keras-moves.ts), ReLU-family and
// Rescaling layers (keras-pointwise.ts), transposed convolutions (keras-transpose.ts),
// TimeDistributed. Each class is computed by its entry in keras-layers.ts' table.

/**
 * The model's outputs for the given inputs (Keras layout, batch first), computed along its
 * config with the source's weights (`weightsOf(layer)`).
 */
export async function composeKeras(
  modelConfig: JsonValue | undefined,
  inputs: readonly Value[],
  weightsOf: (layer: string) => readonly Tensor[],
  kerasMajor = 2,
): Promise<Value[]> {
  const graph = kerasGraph(modelConfig, kerasMajor);
  const values = new Map<string, Value>();
  graph.inputs.forEach((input, i) => values.set(input.name, inputs[i]!));
  for (const node of graph.nodes) {
    const xs = [...node.inputs, ...Object.values(node.keywordInputs)].map((name) => {
      const v = values.get(name);
      if (!v) throw new NotCheckable(`layer ${node.name} takes ${name}, which the config does not compute before it`);
      return v;
    });
    const result = await composerFor(node.className)(node, xs, weightsOf(node.layer));
    const outputs = Array.isArray(result) ? result : [result];
    if (outputs.length !== node.outputs.length)
      throw new NotCheckable(`layer ${node.name} gives ${node.outputs.length} outputs, the composed check computes ${outputs.length}`);
    node.outputs.forEach((name, i) => values.set(name, outputs[i]!));
  }
  return graph.outputs.map((name) => values.get(name)!);
}

export { kerasGraph };
