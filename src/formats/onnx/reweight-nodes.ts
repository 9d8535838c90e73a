import type { Tensor } from "../../tensor/tensor.js";
import { concatBytes } from "../../util/bytes.js";
import { FIELD, type TensorProto, encodeMessage, has, messageType } from "./schema.js";
import { onnxTypeOf } from "./dtypes.js";
import { lengthDelimited, walkFields, WIRE_LEN } from "../../protobuf/wire.js";

// Re-weighting what lives inside nodes: initializers of subgraphs (If branches, Loop/Scan bodies)
// and the tensors of Constant nodes. A node that holds any is re-encoded in memory, field by
// field, with those tensors replaced; every other byte is copied. Such tensors are small next to
// a model's main graph, and a node must be re-encoded anyway since its length changes.

export interface NodeWeights {
  /** The replacement for a template initializer of this name, if any (checks its kind, records a miss). */
  replacement(proto: TensorProto, name: string): Tensor | undefined;
  /** A template initializer kept as it is but held in a side file: its tensor, to be inlined. */
  inlined(proto: TensorProto, name: string): Promise<Tensor>;
  /** The replacement for the value of the Constant node whose output is `name`, if any (checks its kind). */
  constant(proto: TensorProto, name: string): Tensor | undefined;
}

/** The node's encoded payload with subgraph initializers replaced, or undefined when nothing changes. */
export async function rewriteNode(node: Uint8Array, weights: NodeWeights): Promise<Uint8Array | undefined> {
  const output = constantOutput(node);
  return rewrite(
    node,
    (f) => f === FIELD.node.attribute,
    (payload) =>
      output !== undefined && stringField(payload, FIELD.attribute.name) === "value"
        ? constantValue(payload, output, weights)
        : rewriteAttribute(payload, weights),
  );
}

const text = new TextDecoder();

/** The first value of a string field of a message, if present. */
function stringField(message: Uint8Array, field: number): string | undefined {
  for (const f of walkFields(message)) if (f.field === field && f.wireType === WIRE_LEN) return text.decode(message.subarray(f.valueStart, f.end));
  return undefined;
}

/** The output name of a standard-domain Constant node, else undefined. */
function constantOutput(node: Uint8Array): string | undefined {
  const domain = stringField(node, FIELD.node.domain);
  if (stringField(node, FIELD.node.opType) !== "Constant" || (domain && domain !== "ai.onnx")) return undefined;
  return stringField(node, FIELD.node.output);
}

/** A Constant's `value` attribute with its tensor replaced, or undefined when the weights have none for it. */
async function constantValue(attribute: Uint8Array, output: string, weights: NodeWeights): Promise<Uint8Array | undefined> {
  return rewrite(
    attribute,
    (f) => f === FIELD.attribute.tensor,
    async (payload) => {
      const tensor = weights.constant(messageType("TensorProto").decode(payload) as unknown as TensorProto, output);
      return tensor && tensorProto(tensor);
    },
  );
}

function rewriteAttribute(attribute: Uint8Array, weights: NodeWeights): Promise<Uint8Array | undefined> {
  return rewrite(
    attribute,
    (f) => f === FIELD.attribute.graph || f === FIELD.attribute.graphs,
    (payload) => rewriteGraph(payload, weights),
  );
}

async function rewriteGraph(graph: Uint8Array, weights: NodeWeights): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  let changed = false;
  for (const f of walkFields(graph)) {
    const verbatim = graph.subarray(f.start, f.end);
    const payload = graph.subarray(f.valueStart, f.end);
    let replaced: Uint8Array | undefined;
    if (f.wireType === WIRE_LEN && f.field === FIELD.graph.node) {
      const node = await rewriteNode(payload, weights);
      if (node) replaced = lengthDelimited(FIELD.graph.node, node);
    } else if (f.wireType === WIRE_LEN && f.field === FIELD.graph.initializer) {
      replaced = await initializer(messageType("TensorProto").decode(payload) as unknown as TensorProto, weights);
    } else if (f.wireType === WIRE_LEN && f.field === FIELD.graph.sparseInitializer) {
      const values = messageType("SparseTensorProto").decode(payload) as unknown as { values?: TensorProto; dims: TensorProto["dims"] };
      const tensor = values.values && weights.replacement({ ...values.values, dims: values.dims }, values.values.name ?? "");
      if (tensor) replaced = await inlineInitializer(tensor); // now dense, as in the main graph
    }
    if (replaced) changed = true;
    parts.push(replaced ?? verbatim);
  }
  return changed ? concatBytes(parts) : undefined;
}

async function initializer(proto: TensorProto, weights: NodeWeights): Promise<Uint8Array | undefined> {
  const name = proto.name ?? "";
  const tensor = weights.replacement(proto, name);
  if (tensor) return inlineInitializer(tensor);
  // Kept, but its bytes are in the template's side file: the output carries them inline.
  if (has(proto, "data_location") && proto.data_location === 1) return inlineInitializer(await weights.inlined(proto, name));
  return undefined;
}

/** An encoded TensorProto holding the tensor with raw_data inline. */
async function tensorProto(tensor: Tensor): Promise<Uint8Array> {
  const header = encodeMessage("TensorProto", { dims: tensor.shape, data_type: onnxTypeOf(tensor.dtype, tensor.name), name: tensor.name });
  const data = tensor.data.byteLength > 0 ? await tensor.data.read() : new Uint8Array(0);
  return data.byteLength > 0 ? concatBytes([header, lengthDelimited(FIELD.tensor.rawData, data)]) : header;
}

/** A complete `initializer` field holding the tensor with raw_data inline. */
async function inlineInitializer(tensor: Tensor): Promise<Uint8Array> {
  return lengthDelimited(FIELD.graph.initializer, await tensorProto(tensor));
}

/** Copies `message`, passing the length-delimited fields `wanted` selects through `inner`. */
async function rewrite(
  message: Uint8Array,
  wanted: (field: number) => boolean,
  inner: (payload: Uint8Array) => Promise<Uint8Array | undefined>,
): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  let changed = false;
  for (const f of walkFields(message)) {
    const rewritten = f.wireType === WIRE_LEN && wanted(f.field) ? await inner(message.subarray(f.valueStart, f.end)) : undefined;
    if (rewritten) {
      changed = true;
      parts.push(lengthDelimited(f.field, rewritten));
    } else parts.push(message.subarray(f.start, f.end));
  }
  return changed ? concatBytes(parts) : undefined;
}
