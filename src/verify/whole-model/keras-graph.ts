import type { JsonValue } from "../../tensor/checkpoint.js";
import { MODEL_CLASSES } from "../../keras/model-config.js";
import { NotCheckable } from "../params.js";

// The layer graph of a Keras model config (model.save's model_config, a .keras config.json or
// model.to_json()): Sequential chains and Functional graphs, Keras 2 and Keras 3 spellings.
// Each node is one layer called once; shared layers and nested models are not covered.

export interface KerasNode {
  name: string;
  className: string;
  config: Record<string, JsonValue>;
  /** Names of the layers whose outputs this one takes, in order. */
  inputs: string[];
}

export interface KerasGraph {
  nodes: KerasNode[];
  /** The model's input layers with their shapes (batch dimension first, left null). */
  inputs: Array<{ name: string; shape: Array<number | null> }>;
  outputs: string[];
}

type Obj = Record<string, JsonValue>;

function obj(v: JsonValue | undefined): Obj | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

function shapeOf(config: Obj): Array<number | null> | undefined {
  const s = config.batch_input_shape ?? config.batch_shape;
  return Array.isArray(s) && s.every((d) => d === null || typeof d === "number") ? (s as Array<number | null>) : undefined;
}

/** Layer names in a Keras 2 (`[["dense", 0, 0, {}], ...]`) or Keras 3 (`{args: [keras tensors]}`) inbound node. */
function inboundNames(node: JsonValue, layer: string): string[] {
  const names: string[] = [];
  const visit = (v: JsonValue, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      if (typeof v[0] === "string" && typeof v[1] === "number") {
        if (v[1] !== 0) throw new NotCheckable(`layer ${v[0]} is called more than once (shared layers are not covered)`);
        names.push(v[0]);
      } else for (const x of v) visit(x, depth + 1);
      return;
    }
    const history = obj(v.config)?.keras_history;
    if (v.class_name === "__keras_tensor__" && Array.isArray(history)) return visit(history, depth + 1);
    visit(v.args ?? null, depth + 1);
  };
  visit(node, 0);
  if (!names.length) throw new NotCheckable(`cannot read the inputs of layer ${layer} from the model config`);
  return names;
}

function endpoints(v: JsonValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  if (typeof v[0] === "string") return [v[0]];
  return v.flatMap((x) => (Array.isArray(x) && typeof x[0] === "string" ? [x[0]] : []));
}

/** The graph of a model config; NotCheckable when it is no Sequential/Functional this can follow. */
export function kerasGraph(modelConfig: JsonValue | undefined): KerasGraph {
  const root = obj(modelConfig);
  const className = root?.class_name;
  const raw = root?.config;
  const config = Array.isArray(raw) ? { layers: raw } : obj(raw);
  const layers = config && Array.isArray(config.layers) ? config.layers.map(obj).filter((l): l is Obj => l !== undefined) : undefined;
  if (typeof className !== "string" || !layers) throw new NotCheckable("the source holds no Keras model config (a save_weights file): nothing to compose the layers along");
  if (!MODEL_CLASSES.has(className)) throw new NotCheckable(`the source's model is a subclassed ${className}: its call() is not in the file`);
  const nodes: KerasNode[] = [];
  const inputs: KerasGraph["inputs"] = [];
  let previous: string | undefined;
  for (const layer of layers) {
    const cls = layer.class_name;
    const cfg = obj(layer.config) ?? {};
    const name = typeof cfg.name === "string" ? cfg.name : typeof layer.name === "string" ? layer.name : undefined;
    if (typeof cls !== "string" || !name) throw new NotCheckable("a layer of the model config has no class or name");
    if (MODEL_CLASSES.has(cls)) throw new NotCheckable(`layer ${name} is a nested ${cls} (nested models are not covered)`);
    if (className === "Sequential") {
      if (!previous) {
        const shape = shapeOf(cfg);
        if (!shape) throw new NotCheckable("the Sequential model states no input shape");
        const inputName = cls === "InputLayer" ? name : `${name}:input`;
        inputs.push({ name: inputName, shape });
        previous = inputName;
        if (cls === "InputLayer") continue;
      }
      nodes.push({ name, className: cls, config: cfg, inputs: [previous] });
      previous = name;
      continue;
    }
    if (cls === "InputLayer") {
      const shape = shapeOf(cfg);
      if (!shape) throw new NotCheckable(`input ${name} states no shape`);
      inputs.push({ name, shape });
      continue;
    }
    const inbound = Array.isArray(layer.inbound_nodes) ? layer.inbound_nodes : [];
    if (inbound.length !== 1) throw new NotCheckable(`layer ${name} is called ${inbound.length} times (only layers called once are covered)`);
    nodes.push({ name, className: cls, config: cfg, inputs: inboundNames(inbound[0]!, name) });
  }
  const outputs = className === "Sequential" ? [previous!] : endpoints(config!.output_layers);
  if (className !== "Sequential") {
    const declared = endpoints(config!.input_layers);
    if (declared.length) inputs.sort((a, b) => declared.indexOf(a.name) - declared.indexOf(b.name));
  }
  if (!outputs.length || !inputs.length) throw new NotCheckable("the model config names no inputs or outputs");
  return { nodes, inputs, outputs };
}
