import { Builder } from "flatbuffers";
import { Model } from "../../../src/formats/tflite/generated/model.js";
import { SubGraph } from "../../../src/formats/tflite/generated/sub-graph.js";
import { Tensor } from "../../../src/formats/tflite/generated/tensor.js";
import { Buffer as TfliteBuffer } from "../../../src/formats/tflite/generated/buffer.js";
import { QuantizationParameters } from "../../../src/formats/tflite/generated/quantization-parameters.js";
import type { TensorType } from "../../../src/formats/tflite/generated/tensor-type.js";
import { Operator } from "../../../src/formats/tflite/generated/operator.js";
import { OperatorCode } from "../../../src/formats/tflite/generated/operator-code.js";
import type { BuiltinOperator } from "../../../src/formats/tflite/generated/builtin-operator.js";

/** An operator by builtin code, reading and writing tensors by index in the spec (options left at their defaults). */
export interface SpecOperator {
  op: BuiltinOperator;
  inputs: number[];
  outputs: number[];
}

// Small .tflite files built with the flatbuffers Builder and the generated accessors, for what
// no converter-written fixture has: every tensor type, buffers after the FlatBuffer (offset/size),
// and damaged references.

export interface SpecTensor {
  name: string;
  type: TensorType;
  shape: number[];
  data?: Uint8Array;
  /** Put the data after the FlatBuffer (offset/size), as models over 2 GB do. */
  external?: boolean;
  /** Refer to this buffer index instead of the tensor's own. */
  buffer?: number;
  /** Declare this many bytes for an external buffer instead of the data's length. */
  declaredSize?: bigint;
  quantization?: { scale: number[]; zeroPoint: number[]; axis?: number };
}

function build(tensors: SpecTensor[], offsets: bigint[], operators: SpecOperator[]): Uint8Array {
  const b = new Builder(1024);
  const bufferOffsets = [TfliteBuffer.endBuffer((TfliteBuffer.startBuffer(b), b))];
  tensors.forEach((t, i) => {
    if (!t.data) return;
    if (t.external) {
      TfliteBuffer.startBuffer(b);
      TfliteBuffer.addOffset(b, offsets[i]!);
      TfliteBuffer.addSize(b, t.declaredSize ?? BigInt(t.data.byteLength));
      bufferOffsets.push(TfliteBuffer.endBuffer(b));
      return;
    }
    b.startVector(1, t.data.byteLength, 16);
    for (let k = t.data.byteLength - 1; k >= 0; k--) b.addInt8(t.data[k]!);
    const vector = b.endVector();
    bufferOffsets.push(TfliteBuffer.createBuffer(b, vector, 0n, 0n));
  });
  let nextBuffer = 1;
  const tensorOffsets = tensors.map((t) => {
    const name = b.createString(t.name);
    const shape = Tensor.createShapeVector(b, t.shape);
    let quantization = 0;
    if (t.quantization) {
      const scale = QuantizationParameters.createScaleVector(b, t.quantization.scale);
      const zp = QuantizationParameters.createZeroPointVector(
        b,
        t.quantization.zeroPoint.map((z) => BigInt(z)),
      );
      QuantizationParameters.startQuantizationParameters(b);
      QuantizationParameters.addScale(b, scale);
      QuantizationParameters.addZeroPoint(b, zp);
      QuantizationParameters.addQuantizedDimension(b, t.quantization.axis ?? 0);
      quantization = QuantizationParameters.endQuantizationParameters(b);
    }
    Tensor.startTensor(b);
    Tensor.addName(b, name);
    Tensor.addShape(b, shape);
    Tensor.addType(b, t.type);
    Tensor.addBuffer(b, t.buffer ?? (t.data ? nextBuffer++ : 0));
    if (quantization) Tensor.addQuantization(b, quantization);
    return Tensor.endTensor(b);
  });
  const tensorVector = SubGraph.createTensorsVector(b, tensorOffsets);
  const codes = [...new Set(operators.map((o) => o.op))];
  const operatorOffsets = operators.map((o) => {
    const inputs = Operator.createInputsVector(b, o.inputs);
    const outputs = Operator.createOutputsVector(b, o.outputs);
    Operator.startOperator(b);
    Operator.addOpcodeIndex(b, codes.indexOf(o.op));
    Operator.addInputs(b, inputs);
    Operator.addOutputs(b, outputs);
    return Operator.endOperator(b);
  });
  const operatorVector = SubGraph.createOperatorsVector(b, operatorOffsets);
  const codeVector = Model.createOperatorCodesVector(
    b,
    codes.map((code) => {
      OperatorCode.startOperatorCode(b);
      OperatorCode.addBuiltinCode(b, code);
      OperatorCode.addDeprecatedBuiltinCode(b, Math.min(code, 127));
      OperatorCode.addVersion(b, 1);
      return OperatorCode.endOperatorCode(b);
    }),
  );
  const graphName = b.createString("main");
  SubGraph.startSubGraph(b);
  SubGraph.addTensors(b, tensorVector);
  SubGraph.addOperators(b, operatorVector);
  SubGraph.addName(b, graphName);
  const graph = SubGraph.endSubGraph(b);
  const graphs = Model.createSubgraphsVector(b, [graph]);
  const buffers = Model.createBuffersVector(b, bufferOffsets);
  const description = b.createString("weightbridge test model");
  Model.startModel(b);
  Model.addVersion(b, 3);
  Model.addSubgraphs(b, graphs);
  Model.addOperatorCodes(b, codeVector);
  Model.addBuffers(b, buffers);
  Model.addDescription(b, description);
  Model.finishModelBuffer(b, Model.endModel(b));
  return b.asUint8Array().slice();
}

/** A one-subgraph model holding `tensors`; external buffers follow the FlatBuffer, 16-byte aligned. */
export function buildModel(tensors: SpecTensor[], operators: SpecOperator[] = []): Uint8Array {
  // Offsets are fixed-width fields: building once with placeholders gives the FlatBuffer's size.
  const placeholder = tensors.map(() => 1n << 40n);
  const head = build(tensors, placeholder, operators);
  const offsets: bigint[] = [];
  let end = Math.ceil(head.byteLength / 16) * 16;
  for (const t of tensors) {
    offsets.push(BigInt(end));
    if (t.external && t.data) end = Math.ceil((end + t.data.byteLength) / 16) * 16;
  }
  const flat = build(tensors, offsets, operators);
  if (flat.byteLength !== head.byteLength) throw new Error("FlatBuffer size changed between passes");
  const out = new Uint8Array(end);
  out.set(flat);
  tensors.forEach((t, i) => {
    if (t.external && t.data) out.set(t.data, Number(offsets[i]));
  });
  return out;
}
