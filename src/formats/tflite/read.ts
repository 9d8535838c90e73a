import type { ByteSource } from "../../io/source.js";
import type { Checkpoint, JsonObject } from "../../tensor/checkpoint.js";
import { bytesData, computedData, makeTensor, sourceData, type LayerHint, type Tensor, type TensorData } from "../../tensor/tensor.js";
import { numelOf, type DType } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import { loadModel } from "./load.js";
import type { TfliteModel, TfliteSubgraph } from "./model.js";
import { unpackInt4 } from "./int4.js";
import { affineOf, dequantize, type Affine } from "./quantization.js";
import { layerHints } from "./hints.js";
import { describeModel } from "./describe.js";
import { placeTensors, type PlacedTensor } from "./place.js";

export interface TfliteReadOptions {
  /** Quantized tensors become float32 `(q - zero_point) * scale`; otherwise integers plus `_scale`/`_zero_point` tensors. */
  dequantize?: boolean;
}

export async function readTflite(source: ByteSource, options: TfliteReadOptions = {}): Promise<Checkpoint> {
  const file = source.name;
  const model = await loadModel(source);
  const placed = inLayerOrder(placeTensors(model, file, source.size), model);
  const hints = model.subgraphs.map((g) => layerHints(g));
  const names = new Map(placed.map((p) => [`${p.subgraph}:${p.tensor.index}`, p.name]));
  const tensors: Tensor[] = [];
  const quantization: JsonObject = {};
  for (const p of placed) {
    const raw = sourceData(source, p.offset, p.byteLength);
    const data: TensorData = p.int4 ? computedData(numelOf(p.tensor.shape), async () => unpackInt4(await raw.read(), numelOf(p.tensor.shape))) : raw;
    const affine = affineOf(p.tensor, file);
    const hint = namedSlots(hints[p.subgraph]!.get(p.tensor.index), p.subgraph, names);
    // "initializer" as in ONNX: weights, and (with no layer kind) the graph's shape and index constants.
    const extra: Partial<Tensor> = { role: "initializer", ...(hint ? { layer: hint } : {}) };
    if (affine) quantization[p.name] = { scale: affine.scale, zero_point: affine.zeroPoint, axis: affine.axis, type: p.tensor.typeName };
    if (affine && options.dequantize) {
      const bytes = numelOf(p.tensor.shape) * 4;
      const values = computedData(bytes, async () => dequantize(await data.read(), p.dtype, p.tensor.shape, affine));
      tensors.push(makeTensor(p.name, "float32", p.tensor.shape, values, extra));
      continue;
    }
    tensors.push(makeTensor(p.name, p.dtype, p.tensor.shape, data, extra));
    if (affine) tensors.push(...companions(p, affine));
  }
  const meta: JsonObject = { tflite: describeModel(model, placed) };
  if (Object.keys(quantization).length > 0) {
    meta.quantization = quantization;
    meta.quantized = options.dequantize ? "dequantized to float32" : "integers with NAME_scale and NAME_zero_point tensors (DequantizeLinear's inputs)";
  }
  return { format: "tflite", tensors, meta };
}

/** A recurrent op's other input tensors as `tensor_SLOT` attributes holding their checkpoint names (rename templates can use `${attr:tensor_SLOT}`). */
function namedSlots(hint: LayerHint | undefined, subgraph: number, names: Map<string, string>): LayerHint | undefined {
  const slots = hint?.attributes?.slotTensors as Record<string, number> | undefined;
  if (!hint || !slots) return hint;
  const { slotTensors: _indices, ...attributes } = hint.attributes!;
  for (const [slot, index] of Object.entries(slots)) {
    const name = names.get(`${subgraph}:${index}`);
    if (name !== undefined) attributes[`tensor_${slot}`] = name;
  }
  return { ...hint, attributes };
}

/**
 * Constants in the order the operators read them (layer by layer, weights before biases, as a
 * state_dict or a Keras layer lists them); the converter's own tensor order is arbitrary.
 */
function inLayerOrder(placed: PlacedTensor[], model: TfliteModel): PlacedTensor[] {
  const rank = new Map<string, number>();
  model.subgraphs.forEach((graph, s) => {
    for (const op of graph.operators) for (const t of op.inputs) if (!rank.has(`${s}:${t}`)) rank.set(`${s}:${t}`, rank.size);
  });
  const key = (p: PlacedTensor) => rank.get(`${p.subgraph}:${p.tensor.index}`) ?? Number.MAX_SAFE_INTEGER;
  return [...placed].sort((a, b) => a.subgraph - b.subgraph || key(a) - key(b) || a.tensor.index - b.tensor.index);
}

/** NAME_scale (float32) and NAME_zero_point (the tensor's own integer type), as ONNX DequantizeLinear takes them. */
function companions(p: PlacedTensor, affine: Affine): Tensor[] {
  const shape = affine.axis < 0 ? [] : [affine.scale.length];
  const scale = bytesData(new Uint8Array(Float32Array.from(affine.scale).buffer));
  const zeroPoint = bytesData(integerBytes(affine.zeroPoint, p.dtype));
  const layer = { framework: "tflite" as const, attributes: { quantizes: p.name, axis: affine.axis } };
  return [
    makeTensor(`${p.name}_scale`, "float32", shape, scale, { role: "quantization", layer }),
    makeTensor(`${p.name}_zero_point`, p.dtype, shape, zeroPoint, { role: "quantization", layer }),
  ];
}

function integerBytes(values: number[], dtype: DType): Uint8Array {
  switch (dtype) {
    case "int8":
      return new Uint8Array(Int8Array.from(values).buffer);
    case "uint8":
      return Uint8Array.from(values);
    case "int16":
      return new Uint8Array(Int16Array.from(values).buffer);
    case "int32":
      return new Uint8Array(Int32Array.from(values).buffer);
    case "int64":
      return new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    default:
      throw new WeightbridgeError("unsupported", `a ${dtype} zero point`);
  }
}

export type { TfliteSubgraph };
