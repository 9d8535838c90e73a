import type { Tensor } from "../../../tensor/tensor.js";
import type { Graph, GraphNode } from "../../ir.js";
import type { ConstantValue } from "../op.js";
import { recogniseTorchAttention } from "./attention.js";
import { recogniseKerasAttention } from "./keras-attention.js";
import type { PatternGraph, PatternMatch } from "./region.js";

// Layers that span many ONNX nodes (torch.onnx.export's and the Keras lowering's multi-head attention) written
// back as the one torch layer. A recogniser proves that a region of the graph computes exactly
// that layer, or matches nothing: the region's nodes are then written one by one as usual.

// Each recogniser starts from one node of its region (its anchor op) and proves the rest.
const RECOGNISERS: Array<{ anchor: string; recognise: (view: PatternGraph, anchor: GraphNode) => PatternMatch | undefined }> = [
  { anchor: "Softmax", recognise: recogniseTorchAttention },
  { anchor: "Softmax", recognise: recogniseKerasAttention },
];

/** The matches in a graph, none sharing a node. */
export function recognisePatterns(
  graph: Graph,
  readers: Map<string, GraphNode[]>,
  returned: Set<string>,
  constants: Map<Tensor, ConstantValue>,
): PatternMatch[] {
  const producer = new Map<string, GraphNode>();
  for (const node of graph.nodes) for (const o of node.outputs) if (o !== "") producer.set(o, node);
  const view: PatternGraph = { graph, producer, readers, returned, tensors: new Map(graph.initializers.map((t) => [t.name, t])), constants };
  const taken = new Set<GraphNode>();
  const matches: PatternMatch[] = [];
  for (const { anchor, recognise } of RECOGNISERS) {
    for (const node of graph.nodes) {
      const match = node.op === anchor && node.domain === "" ? recognise(view, node) : undefined;
      if (!match || [...match.nodes].some((n) => taken.has(n))) continue;
      for (const n of match.nodes) taken.add(n);
      matches.push(match);
    }
  }
  return matches;
}
