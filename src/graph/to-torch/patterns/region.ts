import type { Tensor } from "../../../tensor/tensor.js";
import type { Graph, GraphNode } from "../../ir.js";
import type { ConstantValue, TorchHandler } from "../op.js";

// What a recogniser reads and returns, and the check every region passes: nothing outside it
// reads a value computed inside it, so writing it as one layer drops no value anyone needs.

/** The graph as recognisers read it. */
export interface PatternGraph {
  graph: Graph;
  producer: Map<string, GraphNode>;
  readers: Map<string, GraphNode[]>;
  returned: Set<string>;
  /** Initializers by name. */
  tensors: Map<string, Tensor>;
  constants: Map<Tensor, ConstantValue>;
}

export interface PatternMatch {
  /** The region's last node: the layer is written where it was, under its output names. */
  anchor: GraphNode;
  /** Every node of the region, the anchor included. */
  nodes: Set<GraphNode>;
  emit: TorchHandler;
}

/** Whether the region's values are read only inside it (its anchor's outputs excepted) and it lies in the graph's own nodes. */
export function closedRegion(view: PatternGraph, nodes: Set<GraphNode>, anchor: GraphNode): boolean {
  const own = new Set(view.graph.nodes);
  for (const node of nodes) {
    if (!own.has(node)) return false;
    if (node === anchor) continue;
    for (const o of node.outputs) {
      if (o === "") continue;
      if (view.returned.has(o)) return false;
      if ((view.readers.get(o) ?? []).some((r) => !nodes.has(r))) return false;
    }
  }
  return true;
}
