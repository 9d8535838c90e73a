import { type Tensor, bytesData, makeTensor } from "../../tensor/tensor.js";
import { int64Of, type NodeProto } from "./schema.js";
import { type TensorContext, decodeTensor } from "./tensor-proto.js";
import { densifySparse } from "./sparse.js";

/**
 * The tensor a `Constant` node outputs (attribute value, sparse_value, value_float(s),
 * value_int(s)), named after its output; a string when it cannot be represented, undefined
 * when the node carries no numeric value (value_string(s)).
 */
export async function constantTensor(node: NodeProto, context: TensorContext): Promise<Tensor | string | undefined> {
  const name = node.output[0] ?? "";
  const attribute = node.attribute.find((a) => a.name?.startsWith("value") || a.name === "sparse_value");
  if (!attribute) return undefined;
  const extra = { role: "constant" };
  switch (attribute.name) {
    case "value": {
      // A sparse tensor under `value` (as some exporters write it) is read like sparse_value.
      if (!attribute.t && attribute.sparse_tensor) return sparseConstant(name, attribute.sparse_tensor, context);
      if (!attribute.t) return `Constant '${name}' has no tensor`;
      const decoded = await decodeTensor(attribute.t, name, context);
      if (typeof decoded === "string") return decoded;
      return makeTensor(name, decoded.dtype, decoded.shape, decoded.data, extra);
    }
    case "sparse_value":
      if (!attribute.sparse_tensor) return `Constant '${name}' has no sparse tensor`;
      return sparseConstant(name, attribute.sparse_tensor, context);
    case "value_float":
      return makeTensor(name, "float32", [], bytesData(float32Bytes([attribute.f ?? 0])), extra);
    case "value_floats":
      return makeTensor(name, "float32", [attribute.floats.length], bytesData(float32Bytes(attribute.floats)), extra);
    case "value_int":
      return makeTensor(name, "int64", [], bytesData(int64Bytes([attribute.i ?? 0])), extra);
    case "value_ints":
      return makeTensor(name, "int64", [attribute.ints.length], bytesData(int64Bytes(attribute.ints)), extra);
    default:
      return undefined;
  }
}

async function sparseConstant(name: string, sparse: Parameters<typeof densifySparse>[0], context: TensorContext): Promise<Tensor | string> {
  const dense = await densifySparse(sparse, context);
  if (typeof dense === "string") return dense;
  return { ...dense.tensor, name, role: "constant" };
}

function float32Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function int64Bytes(values: Parameters<typeof int64Of>[0][]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, int64Of(v), true));
  return out;
}
