import type { Attribute, Graph, ValueInfo } from "../../graph/ir.js";
import type { Tensor } from "../../tensor/tensor.js";
import { encodeMessage } from "./schema.js";
import { onnxTypeOf } from "./dtypes.js";

// The graph IR back as an ONNX ModelProto, in memory: what `convert SRC OUT.py` runs in
// onnxruntime to show that the graph the PyTorch source was emitted from is the source's graph
// (every attribute and initializer read). Small models only: the weights are inlined.

const ATTRIBUTE_TYPE: Record<Attribute["type"], number> = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 };

/** The lowest IR version an opset needs (opset 19 came with IR 9, opset 21 with IR 10). */
function irVersionFor(opset: number): number {
  return opset >= 21 ? 10 : opset >= 19 ? 9 : 8;
}

export async function encodeGraphModel(graph: Graph): Promise<Uint8Array> {
  const opsetImport = [{ domain: "", version: graph.opset }, ...Object.entries(graph.domains ?? {}).map(([domain, version]) => ({ domain, version }))];
  return encodeMessage("ModelProto", {
    ir_version: irVersionFor(graph.opset),
    opset_import: opsetImport,
    producer_name: "weightbridge",
    graph: await graphObject(graph),
  });
}

async function graphObject(graph: Graph): Promise<Record<string, unknown>> {
  const nodes = [];
  for (const node of graph.nodes) {
    const attribute = [];
    for (const [name, a] of Object.entries(node.attributes)) attribute.push({ name, ...(await attributeObject(a)) });
    nodes.push({ name: node.name, op_type: node.op, domain: node.domain, input: node.inputs, output: node.outputs, attribute });
  }
  const initializer = [];
  for (const t of graph.initializers) initializer.push(await tensorObject(t));
  return {
    name: graph.name,
    node: nodes,
    initializer,
    input: graph.inputs.map(valueObject),
    output: graph.outputs.map(valueObject),
    value_info: (graph.valueInfo ?? []).map(valueObject),
  };
}

async function tensorObject(t: Tensor): Promise<Record<string, unknown>> {
  return { name: t.name, dims: t.shape, data_type: onnxTypeOf(t.dtype, t.name), raw_data: await t.data.read() };
}

function valueObject(v: ValueInfo): Record<string, unknown> {
  const shape = v.shape ? { dim: v.shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } : undefined;
  return { name: v.name, type: { tensor_type: { elem_type: onnxTypeOf(v.dtype, v.name), ...(shape ? { shape } : {}) } } };
}

async function attributeObject(a: Attribute): Promise<Record<string, unknown>> {
  const type = ATTRIBUTE_TYPE[a.type];
  switch (a.type) {
    case "float":
      return { type, f: a.value };
    case "int":
      return { type, i: a.value };
    case "string":
      return { type, s: new TextEncoder().encode(a.value) };
    case "floats":
      return { type, floats: a.value };
    case "ints":
      return { type, ints: a.value };
    case "strings":
      return { type, strings: a.value.map((s) => new TextEncoder().encode(s)) };
    case "tensor":
      return { type, t: await tensorObject(a.value) };
    case "graph":
      return { type, g: await graphObject(a.value) };
  }
}
