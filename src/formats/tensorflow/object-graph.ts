import type { ObjectGraph } from "./protos.js";

// TF2 object-based bundles key tensors by object path (`layer_with_weights-0/kernel/.ATTRIBUTES/
// VARIABLE_VALUE`). The `_CHECKPOINTABLE_OBJECT_GRAPH` tensor holds the TrackableObjectGraph:
// each variable's `full_name` (the Keras/TF1 name, `dense_1/kernel`), its checkpoint key, and
// which slot variables (Adam m/v) belong to which variable.

/** Edge names that lead to a second path to an object (lists, Keras bookkeeping), not its owner. */
const SIDE_EDGES = new Set([
  "variables",
  "trainable_variables",
  "non_trainable_variables",
  "trainable_weights",
  "non_trainable_weights",
  "weights",
  "keras_api",
  "signatures",
  "_variables",
  "_momentums",
  "_velocities",
  "_index_dict",
]);

export type KeyKind = "variable" | "slot" | "optimizer" | "metric" | "counter";

export interface NamedKey {
  key: string;
  /** The tensor's name in weightbridge: the Keras variable name, or a slot named after its variable. */
  name: string;
  kind: KeyKind;
  /** The object graph node owning the tensor. */
  node: number;
  /** For slots: the variable and slot name (`m`, `v`). */
  slotOf?: { variable: string; slot: string };
  /** The name it shares with other keys (it then goes by its object path instead). */
  sharedName?: string;
}

export interface NamedGraph {
  byKey: Map<string, NamedKey>;
  /** Owner of each node on its main path (layers own their variables, models their layers). */
  parent: Map<number, { node: number; edge: string }>;
  /** Node ids by object path (`layer_with_weights-0/cell`), main paths only. */
  byPath: Map<string, number>;
}

function ownerTree(graph: ObjectGraph): Pick<NamedGraph, "parent" | "byPath"> {
  const parent = new Map<number, { node: number; edge: string }>();
  const byPath = new Map<string, number>([["", 0]]);
  const pathOf = new Map<number, string>([[0, ""]]);
  const queue = [0];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const child of graph.nodes[id]?.children ?? []) {
      const to = child.node_id ?? 0;
      const edge = child.local_name ?? "";
      if (pathOf.has(to) || SIDE_EDGES.has(edge) || /^\d+$/.test(edge) || !graph.nodes[to]) continue;
      const path = pathOf.get(id) === "" ? edge : `${pathOf.get(id)}/${edge}`;
      pathOf.set(to, path);
      byPath.set(path, to);
      parent.set(to, { node: id, edge });
      queue.push(to);
    }
  }
  return { parent, byPath };
}

/**
 * Names every checkpoint key the graph describes. `savedNames` (a SavedModel's SavedVariable names by
 * node id: the two graphs share node ids) names variables the checkpoint graph gives no full_name.
 */
export function nameKeys(graph: ObjectGraph, savedNames: ReadonlyMap<number, string> = new Map()): NamedGraph {
  const tree = ownerTree(graph);
  // The root's child each node hangs below, remembered per node: walking up from every key
  // would cost keys x depth.
  const tops = new Map<number, string | undefined>();
  const top = (id: number): string | undefined => {
    const path: number[] = [];
    let at = id;
    let found: string | undefined;
    for (;;) {
      if (tops.has(at)) {
        found = tops.get(at);
        break;
      }
      const up = tree.parent.get(at);
      if (!up) break;
      path.push(at);
      if (up.node === 0) {
        found = up.edge;
        break;
      }
      at = up.node;
    }
    for (const node of path) tops.set(node, found);
    return found;
  };
  const slots = new Map<number, { original: number; slot: string }>();
  for (const node of graph.nodes) {
    for (const s of node.slot_variables) slots.set(s.slot_variable_node_id ?? 0, { original: s.original_variable_node_id ?? 0, slot: s.slot_name ?? "" });
  }
  const variableName = (id: number) => graph.nodes[id]?.attributes.find((a) => a.name === "VARIABLE_VALUE")?.full_name;
  const byKey = new Map<string, NamedKey>();
  const variables = new Set<string>();
  graph.nodes.forEach((node, id) => {
    for (const attribute of node.attributes) {
      const key = attribute.checkpoint_key;
      if (!key) continue;
      const slot = slots.get(id);
      const owner = top(id) ?? key.split("/")[0]!;
      const fullName = attribute.full_name || savedNames.get(id) || key.replace(/\/\.ATTRIBUTES\/.*$/, "");
      if (slot) {
        const variable = variableName(slot.original) || `node_${slot.original}`;
        byKey.set(key, { key, name: `optimizer/${variable}/${slot.slot}`, kind: "slot", node: id, slotOf: { variable, slot: slot.slot } });
      } else if (owner === "optimizer" || key.startsWith("optimizer/")) {
        byKey.set(key, { key, name: `optimizer/${fullName}`, kind: "optimizer", node: id });
      } else if (key.startsWith("keras_api/metrics/") || owner === "keras_api") {
        byKey.set(key, { key, name: key.replace(/\/\.ATTRIBUTES\/VARIABLE_VALUE$/, ""), kind: "metric", node: id });
      } else if (key.startsWith("save_counter/")) {
        byKey.set(key, { key, name: "save_counter", kind: "counter", node: id });
      } else {
        byKey.set(key, { key, name: fullName, kind: "variable", node: id });
        variables.add(fullName);
      }
    }
  });
  // Keras >= 2.11 optimizers keep slots in a flat list named `<Optimizer>/<slot>/<variable>` (`SGD/m/dense/kernel`,
  // `Adamax/u/dense/kernel`, `RMSprop/velocity/...`, `Ftrl/linear/...`, `Adafactor/r/...`, EMA's `average`): name
  // them like the old ones (`optimizer/dense/kernel/u`) whatever the slot is called, when the variable is in the file.
  // Non-slot optimizer variables (`iteration`, Nadam's `u_product`) name no variable and stay as they are.
  for (const named of byKey.values()) {
    if (named.kind !== "optimizer") continue;
    const match = /^optimizer\/[^/]+\/([^/]+)\/(.+)$/.exec(named.name);
    if (match && variables.has(match[2]!)) {
      named.kind = "slot";
      named.slotOf = { variable: match[2]!, slot: match[1]! };
      named.name = `optimizer/${match[2]}/${match[1]}`;
    }
  }
  // Two keys with one name (a variable reachable under two full names) keep their object paths.
  const seen = new Map<string, NamedKey[]>();
  for (const named of byKey.values()) {
    const group = seen.get(named.name);
    if (group) group.push(named);
    else seen.set(named.name, [named]);
  }
  for (const group of seen.values()) {
    if (group.length < 2) continue;
    for (const named of group) {
      named.sharedName = named.name;
      named.name = named.key.replace(/\/\.ATTRIBUTES\/VARIABLE_VALUE$/, "");
    }
  }
  return { byKey, ...tree };
}
