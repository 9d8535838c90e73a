import type { ByteSink } from "../../io/sink.js";
import { checkUniqueNames, type Checkpoint } from "../../tensor/checkpoint.js";
import { WeightbridgeError } from "../../errors.js";
import type { OnnxWriteOptions as WriteOptions } from "./options.js";
import { encodeMessage } from "./schema.js";
import { minIrVersionFor, onnxTypeOf } from "./dtypes.js";
import { emitModel } from "./emit.js";
import { packageFile } from "../../util/package-root.js";

export const PRODUCER_NAME = "weightbridge";
const OPSET = 17;

/**
 * A weights-only ModelProto: every tensor a raw_data initializer, no nodes, and graph outputs
 * naming the initializers (with type and shape) so viewers list them. IR 8 / opset 17, IR 9
 * only when a FLOAT8 dtype needs it.
 */
export async function writeOnnx(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  checkUniqueNames(checkpoint.tensors, { file: sink.name });
  for (const t of checkpoint.tensors) {
    if (t.name === "") throw new WeightbridgeError("usage", "ONNX initializers need a non-empty name");
    onnxTypeOf(t.dtype, t.name);
  }
  const irVersion = minIrVersionFor(checkpoint.tensors.map((t) => t.dtype));
  const modelFields = encodeMessage("ModelProto", {
    ir_version: irVersion,
    producer_name: PRODUCER_NAME,
    producer_version: await producerVersion(),
    opset_import: [{ domain: "", version: OPSET }],
  });
  const graphName = typeof checkpoint.meta.graph_name === "string" && checkpoint.meta.graph_name ? checkpoint.meta.graph_name : "weights";
  const graphFields = encodeMessage("GraphProto", {
    name: graphName,
    output: checkpoint.tensors.map((t) => ({
      name: t.name,
      type: { tensor_type: { elem_type: onnxTypeOf(t.dtype, t.name), shape: { dim: t.shape.map((d) => ({ dim_value: d })) } } },
    })),
  });
  await emitModel(
    { modelFields: [modelFields], graphFields: [graphFields], initializers: checkpoint.tensors.map((tensor) => ({ kind: "tensor", tensor })) },
    sink,
    { external: options.formatOptions?.onnx?.externalData ? true : "auto", siblingSink: options.siblingSink, warn: options.warn },
  );
}

let version: Promise<string> | undefined;

/** Defined by the page's bundle (scripts/build-web.mjs): a browser cannot read package.json. */
declare const __WEIGHTBRIDGE_VERSION__: string | undefined;

/** weightbridge's own version, from package.json. */
export function producerVersion(): Promise<string> {
  if (typeof __WEIGHTBRIDGE_VERSION__ === "string") return Promise.resolve(__WEIGHTBRIDGE_VERSION__);
  version ??= import("node:fs/promises")
    .then((fs) => fs.readFile(packageFile("package.json"), "utf8"))
    .then((text) => String(JSON.parse(text).version ?? ""))
    .catch(() => "");
  return version;
}
