import type { NodeProto } from "./schema.js";

// torch.onnx.export merges initializers with identical values into one (a freshly initialised
// model's BatchNorm weights are all ones, its biases and running means all zeros) and gives the
// others back as `Identity` nodes: `bn2.weight = Identity(bn1.weight)`. Each such output names a
// weight of its own, which a re-weighted model may need to differ from the one it was merged with.

export interface InitializerAlias {
  /** The Identity node's output: the merged weight's own name. */
  name: string;
  /** The initializer it reads (through any chain of Identity nodes). */
  initializer: string;
  /** The Identity node's own input: the initializer or an earlier alias. */
  input: string;
  /** The Identity node's index in the graph's node list. */
  node: number;
}

const isIdentity = (node: NodeProto): boolean =>
  node.op_type === "Identity" && (!node.domain || node.domain === "ai.onnx") && node.input.length === 1 && node.output.length === 1;

/** The graph's Identity nodes that rename an initializer (of `initializers`), in node order. */
export function initializerAliases(nodes: readonly NodeProto[], initializers: ReadonlySet<string>): InitializerAlias[] {
  const root = new Map<string, string>();
  const out: InitializerAlias[] = [];
  nodes.forEach((node, index) => {
    if (!isIdentity(node)) return;
    const input = node.input[0]!;
    const name = node.output[0]!;
    const initializer = initializers.has(input) ? input : root.get(input);
    if (initializer === undefined || name === "" || initializers.has(name) || root.has(name)) return;
    root.set(name, initializer);
    out.push({ name, initializer, input, node: index });
  });
  return out;
}
