import type { ByteSink } from "../../io/sink.js";
import type { ByteSource } from "../../io/source.js";
import type { Checkpoint } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import type { OnnxWriteOptions as WriteOptions } from "./options.js";
import { settleKeptTemplateValues, settleUnwritten } from "../../tensor/non-weights.js";
import { FIELD, type TensorProto, has, sizeOf } from "./schema.js";
import { dtypeFromOnnx, onnxTypeName } from "./dtypes.js";
import { type InitializerRecord, emitModel } from "./emit.js";
import { parseModel } from "./read.js";
import { decodeTensor } from "./tensor-proto.js";
import { lengthDelimited, walkFields } from "../../protobuf/wire.js";
import { rewriteNode, type NodeWeights } from "./reweight-nodes.js";
import { initializerAliases, type InitializerAlias } from "./aliases.js";

/**
 * The template's model with its initializers replaced, by name, by the checkpoint's tensors.
 * Everything else in the template (nodes, inputs, metadata, fields this code does not know) is
 * copied byte for byte. Template initializers the checkpoint lacks keep their values. Initializers
 * inside subgraphs and the values of Constant nodes are replaced too (./reweight-nodes.ts).
 */
export async function reweightOnnx(checkpoint: Checkpoint, template: ByteSource, sink: ByteSink, options: WriteOptions): Promise<void> {
  const opened: ByteSource[] = [];
  try {
    const { model, bytes, context } = await parseModel(template, { keep: (s) => opened.push(s) });
    const graph = model.graph!;
    const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
    const used = new Set<string>();
    const unmatched: string[] = [];
    const modelFields: Uint8Array[] = [];
    const graphFields: Uint8Array[] = [];
    const initializers: InitializerRecord[] = [];
    let templateIsExternal = false;

    const graphRanges = [...walkFields(bytes)].filter((f) => {
      if (f.field !== FIELD.model.graph) modelFields.push(bytes.subarray(f.start, f.end));
      return f.field === FIELD.model.graph;
    });
    if (graphRanges.length !== 1) {
      throw new WeightbridgeError("unsupported", "template ModelProto splits its graph over several fields", { file: template.name });
    }
    const g = graphRanges[0]!;
    /** The checkpoint's tensor for `name`, checked against what it replaces; undefined when there is none. */
    const take = (proto: TensorProto, name: string): Tensor | undefined => {
      const tensor = byName.get(name);
      if (!tensor) return undefined;
      checkSameKind(tensor, proto, template.name);
      used.add(name);
      return tensor;
    };
    const nodeWeights: NodeWeights = {
      replacement(proto, name) {
        const tensor = take(proto, name);
        if (!tensor) unmatched.push(name);
        return tensor;
      },
      inlined: (proto, name) => templateTensor(proto, name, context),
      constant: take,
    };
    // Merged initializers (./aliases.ts): an Identity-made weight the checkpoint gives, or whose
    // initializer it replaces, becomes an initializer of its own in place of the Identity node.
    const initializerNames = new Set(graph.initializer.map((p) => p.name ?? ""));
    const aliases = new Map(initializerAliases(graph.node, initializerNames).map((a) => [a.node, a]));
    const protoOf = new Map(graph.initializer.map((p) => [p.name ?? "", p]));
    const ownInitializer = async (alias: InitializerAlias): Promise<InitializerRecord | undefined> => {
      const proto = protoOf.get(alias.initializer)!;
      const given = take(proto, alias.name);
      if (given) return { kind: "tensor", tensor: given };
      // Kept as it is unless what it reads gets new values, which it must not follow.
      if (!byName.has(alias.initializer) && !byName.has(alias.input)) return undefined;
      unmatched.push(alias.name);
      return { kind: "tensor", tensor: { ...(await templateTensor(proto, alias.initializer, context)), name: alias.name } };
    };
    let denseIndex = 0;
    let sparseIndex = 0;
    let nodeIndex = 0;
    for (const f of walkFields(bytes, g.valueStart, g.end)) {
      const verbatim = bytes.subarray(f.start, f.end);
      if (f.field === FIELD.graph.initializer) {
        const proto = graph.initializer[denseIndex++]!;
        const name = proto.name ?? "";
        const external = has(proto, "data_location") && proto.data_location === 1;
        templateIsExternal ||= external;
        const replacement = byName.get(name);
        if (replacement) {
          checkSameKind(replacement, proto, template.name);
          used.add(name);
          initializers.push({ kind: "tensor", tensor: replacement });
        } else {
          unmatched.push(name);
          // An external template tensor is copied into this output's own storage.
          initializers.push(external ? { kind: "tensor", tensor: await templateTensor(proto, name, context) } : { kind: "verbatim", bytes: verbatim });
        }
      } else if (f.field === FIELD.graph.sparseInitializer) {
        const sparse = graph.sparse_initializer[sparseIndex++]!;
        const name = sparse.values?.name ?? "";
        const replacement = byName.get(name);
        if (replacement) {
          checkSameKind(replacement, { ...sparse.values!, dims: sparse.dims }, template.name);
          used.add(name);
          initializers.push({ kind: "tensor", tensor: replacement }); // now dense
        } else {
          unmatched.push(name);
          graphFields.push(verbatim);
        }
      } else if (f.field === FIELD.graph.node) {
        const alias = aliases.get(nodeIndex++);
        const own = alias && (await ownInitializer(alias));
        if (own) {
          initializers.push(own);
          continue;
        }
        // A node with subgraphs (If, Loop, Scan) may hold initializers of its own; a Constant, a tensor.
        const node = await rewriteNode(bytes.subarray(f.valueStart, f.end), nodeWeights);
        graphFields.push(node ? lengthDelimited(FIELD.graph.node, node) : verbatim);
      } else graphFields.push(verbatim);
    }

    const unused = checkpoint.tensors.filter((t) => !used.has(t.name) && t.role !== "constant").map((t) => t.name);
    report(unmatched, unused, template.name, options);
    await emitModel({ modelFields, graphFields, initializers }, sink, {
      external: (options.formatOptions?.onnx?.externalData ?? templateIsExternal) ? true : "auto",
      siblingSink: options.siblingSink,
      warn: options.warn,
    });
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
}

function checkSameKind(tensor: Tensor, proto: TensorProto, file: string): void {
  const typeId = proto.data_type ?? 0;
  const dtype = dtypeFromOnnx(typeId);
  const shape = proto.dims.map((d) => sizeOf(d, "dimension"));
  if (dtype !== tensor.dtype || shape.length !== tensor.shape.length || shape.some((d, i) => d !== tensor.shape[i])) {
    throw new WeightbridgeError(
      "template-mismatch",
      `template initializer is ${dtype ?? onnxTypeName(typeId)}[${shape.join(", ")}] but the weights give ${tensor.dtype}[${tensor.shape.join(", ")}]`,
      { tensor: tensor.name, file },
    );
  }
}

async function templateTensor(proto: TensorProto, name: string, context: Parameters<typeof decodeTensor>[2]): Promise<Tensor> {
  const decoded = await decodeTensor(proto, name, context);
  if (typeof decoded === "string") throw new WeightbridgeError("unsupported", `cannot copy template initializer: ${decoded}`, { tensor: name });
  return { name, ...decoded };
}

function report(unmatched: string[], unused: string[], file: string, options: WriteOptions): void {
  settleUnwritten(unused, options, file);
  // Graph constants (ReLU6's Clip bounds, Reshape shapes) keep their values by design.
  const weights = unmatched.filter((n) => !isGraphConstant(options.template?.tensors.find((t) => t.name === n)));
  settleKeptTemplateValues(weights, options, file);
}

/** An initializer no weight slot consumes that is a scalar or integer tensor. */
function isGraphConstant(t: Tensor | undefined): boolean {
  if (!t || t.layer?.kind) return false;
  return t.shape.reduce((n, d) => n * d, 1) <= 1 || t.dtype.startsWith("int") || t.dtype.startsWith("uint");
}
