import type { ByteSink } from "../../io/sink.js";
import type { Attribute, Graph, ValueInfo } from "../../graph/ir.js";
import { WeightbridgeError } from "../../errors.js";
import type { OnnxWriteOptions as WriteOptions } from "./options.js";
import { encodeMessage } from "./schema.js";
import { minIrVersionFor, onnxTypeOf } from "./dtypes.js";
import { emitModel } from "./emit.js";
import { PRODUCER_NAME, producerVersion } from "./write.js";

// A runnable ModelProto from the neutral graph: nodes, named and typed graph inputs/outputs
// (symbolic dims as dim_param), value_info, and the initializers streamed from their checkpoint
// tensors by the same emitter the weights-only writer uses.

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 } as const;

/** The IR version each opset needs at least (onnx/helper.py VERSION_TABLE). */
function irVersionFor(opset: number): number {
  if (opset <= 12) return 7;
  if (opset <= 14) return 7;
  if (opset <= 16) return 8;
  if (opset === 17) return 8;
  if (opset <= 19) return 9;
  return 10;
}

function attributeProto(name: string, a: Attribute): Record<string, unknown> {
  const type = ATTRIBUTE_TYPE[a.type];
  switch (a.type) {
    case "float":
      return { name, type, f: a.value };
    case "int":
      return { name, type, i: a.value };
    case "string":
      return { name, type, s: new TextEncoder().encode(a.value) };
    case "floats":
      return { name, type, floats: a.value };
    case "ints":
      return { name, type, ints: a.value };
    case "strings":
      return { name, type, strings: a.value.map((s) => new TextEncoder().encode(s)) };
    default:
      throw new WeightbridgeError("unsupported", `attribute ${name}: ${a.type} attributes are not written`);
  }
}

function valueInfo(v: ValueInfo): Record<string, unknown> {
  const tensorType: Record<string, unknown> = { elem_type: onnxTypeOf(v.dtype, v.name) };
  if (v.shape) tensorType.shape = { dim: v.shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) };
  return { name: v.name, type: { tensor_type: tensorType } };
}

export async function writeOnnxGraph(graph: Graph, sink: ByteSink, options: Pick<WriteOptions, "formatOptions" | "siblingSink" | "warn">): Promise<void> {
  const irVersion = Math.max(irVersionFor(graph.opset), minIrVersionFor(graph.initializers.map((t) => t.dtype)));
  const opsets = [{ domain: "", version: graph.opset }, ...Object.entries(graph.domains ?? {}).map(([domain, version]) => ({ domain, version }))];
  const modelFields = encodeMessage("ModelProto", {
    ir_version: irVersion,
    producer_name: PRODUCER_NAME,
    producer_version: await producerVersion(),
    opset_import: opsets,
  });
  const graphFields = encodeMessage("GraphProto", {
    name: graph.name,
    node: graph.nodes.map((n) => ({
      name: n.name,
      op_type: n.op,
      ...(n.domain ? { domain: n.domain } : {}),
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attributes).map(([name, a]) => attributeProto(name, a)),
    })),
    input: graph.inputs.map(valueInfo),
    output: graph.outputs.map(valueInfo),
    value_info: (graph.valueInfo ?? []).map(valueInfo),
  });
  await emitModel(
    { modelFields: [modelFields], graphFields: [graphFields], initializers: graph.initializers.map((tensor) => ({ kind: "tensor", tensor })) },
    sink,
    { external: options.formatOptions?.onnx?.externalData ? true : "auto", siblingSink: options.siblingSink, warn: options.warn },
  );
}
