import type { JsonObject } from "../../tensor/checkpoint.js";
import type { TfliteModel } from "./model.js";
import type { PlacedTensor } from "./place.js";

/** What `inspect` shows of a model beyond its tensors: operators per type, subgraphs, signatures, metadata names. */
export function describeModel(model: TfliteModel, placed: PlacedTensor[]): JsonObject {
  const operators: Record<string, number> = {};
  for (const g of model.subgraphs) for (const op of g.operators) operators[op.op] = (operators[op.op] ?? 0) + 1;
  const external = model.buffers.filter((b) => b.external).length;
  return {
    schema_version: model.version,
    description: model.description,
    operators,
    subgraphs: model.subgraphs.map((g, s) => ({
      name: g.name,
      tensors: g.tensors.length,
      operators: g.operators.length,
      constants: placed.filter((p) => p.subgraph === s).length,
      inputs: g.inputs.map((i) => g.tensors[i]?.name ?? `#${i}`),
      outputs: g.outputs.map((i) => g.tensors[i]?.name ?? `#${i}`),
    })),
    signatures: model.signatures.map((s) => ({
      key: s.key,
      subgraph: s.subgraph,
      inputs: s.inputs.map((i) => i.name),
      outputs: s.outputs.map((o) => o.name),
    })),
    metadata: model.metadata.map((m) => m.name),
    buffers: model.buffers.length,
    ...(external > 0 ? { external_buffers: external } : {}),
  };
}
