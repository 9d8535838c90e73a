import type { JsonValue } from "../../tensor/checkpoint.js";
import { KerasConfigError, readKerasModel } from "../../keras/config-graph.js";
import { NotCheckable } from "../params.js";

// The layer graph the composed check walks: keras/config-graph.ts's one reading of the model
// config (Sequential and Functional, Keras 2 and 3, nested models inlined, shared layers as one
// node per call), with its refusals turned into verify's NotCheckable.

export interface KerasNode {
  /** The call's name (the layer's name; `name_1` for a shared layer's second call): its first output's. */
  name: string;
  /** Every value the call gives (an RNN with return_state gives its output, then its states). */
  outputs: string[];
  /** The layer whose weights the call uses. */
  layer: string;
  className: string;
  config: Record<string, JsonValue>;
  /** Names of the values this call takes, in order. */
  inputs: string[];
  /** Values given by keyword (MultiHeadAttention's `value=`, a mask): keyword → value name. */
  keywordInputs: Record<string, string>;
  /** Call options that are no values (`use_causal_mask=True`). */
  keywords: Record<string, JsonValue>;
  /** The Keras major version whose definitions apply (hard_sigmoid: 0.2·x + 0.5 in Keras 2, relu6(x + 3)/6 in Keras 3). */
  kerasMajor: number;
}

export interface KerasGraph {
  nodes: KerasNode[];
  /** The model's input layers with their shapes (batch dimension first, left null). */
  inputs: Array<{ name: string; shape: Array<number | null> }>;
  outputs: string[];
}

/** The graph of a model config; NotCheckable when it is no Sequential/Functional this can follow. */
export function kerasGraph(modelConfig: JsonValue | undefined, kerasMajor = 2): KerasGraph {
  try {
    const model = readKerasModel(modelConfig);
    const nodes = model.calls.map((call): KerasNode => {
      return {
        name: call.outputs[0]!,
        outputs: call.outputs,
        layer: call.layer.name,
        className: call.layer.className,
        config: call.layer.config,
        inputs: call.inputs,
        keywordInputs: call.keywordInputs,
        keywords: call.keywords as Record<string, JsonValue>,
        kerasMajor,
      };
    });
    return { nodes, inputs: model.inputs.map((i) => ({ name: i.name, shape: i.shape })), outputs: model.outputs };
  } catch (e) {
    if (e instanceof KerasConfigError) throw new NotCheckable(e.message);
    throw e;
  }
}
