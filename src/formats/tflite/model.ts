import { Model } from "./generated/model.js";
import type { Tensor } from "./generated/tensor.js";
import { BuiltinOperator } from "./generated/builtin-operator.js";
import { TensorType } from "./generated/tensor-type.js";
import { CheckedByteBuffer, checkedView } from "./flatbuffer.js";
import { operatorOptions, type OperatorOptions } from "./options.js";

// A TFLite model's structure as plain data, walked once from the FlatBuffer (every read bounds-
// checked). Buffers are described by where their bytes are in the file, never copied here.

export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  /** The axis `scale` runs along when it has more than one entry. */
  axis: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  type: number;
  typeName: string;
  shape: number[];
  buffer: number;
  quantization?: Quantization;
  isVariable: boolean;
  sparse: boolean;
}

export interface TfliteOperator {
  index: number;
  op: string;
  inputs: number[];
  outputs: number[];
  options: OperatorOptions;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

/** Where a buffer's bytes are in the file: inside the FlatBuffer, or after it (`offset`/`size`, models over 2 GB). */
export interface TfliteBuffer {
  offset: number;
  size: number;
  external: boolean;
}

export interface TfliteSignature {
  key: string;
  subgraph: number;
  inputs: Array<{ name: string; tensor: number }>;
  outputs: Array<{ name: string; tensor: number }>;
}

export interface TfliteModel {
  version: number;
  description: string;
  subgraphs: TfliteSubgraph[];
  buffers: TfliteBuffer[];
  signatures: TfliteSignature[];
  metadata: Array<{ name: string; buffer: number }>;
}

/** Parses the FlatBuffer in `bytes` (the file from byte 0; maybe only its head when buffers lie outside). */
export function parseModel(bytes: Uint8Array): TfliteModel {
  const bb = new CheckedByteBuffer(bytes);
  const model = Model.getRootAsModel(bb);
  const opNames: string[] = [];
  for (let i = 0; i < model.operatorCodesLength(); i++) {
    const code = model.operatorCodes(i)!;
    // Since schema 3a the code is in builtin_code; older files keep it in the byte field (TFLite takes the larger).
    const builtin = Math.max(code.builtinCode(), code.deprecatedBuiltinCode());
    opNames.push(builtin === BuiltinOperator.CUSTOM ? `CUSTOM:${code.customCode() ?? ""}` : (BuiltinOperator[builtin] ?? `BUILTIN_${builtin}`));
  }
  const subgraphs: TfliteSubgraph[] = [];
  for (let s = 0; s < model.subgraphsLength(); s++) {
    const g = model.subgraphs(s)!;
    const tensors: TfliteTensor[] = [];
    for (let t = 0; t < g.tensorsLength(); t++) tensors.push(readTensor(g.tensors(t)!, t));
    const operators: TfliteOperator[] = [];
    for (let o = 0; o < g.operatorsLength(); o++) {
      const op = g.operators(o)!;
      operators.push({
        index: o,
        op: opNames[op.opcodeIndex()] ?? `OPCODE_${op.opcodeIndex()}`,
        inputs: ints(op.inputsArray(), bytes),
        outputs: ints(op.outputsArray(), bytes),
        options: operatorOptions(op),
      });
    }
    subgraphs.push({ name: g.name() ?? "", tensors, inputs: ints(g.inputsArray(), bytes), outputs: ints(g.outputsArray(), bytes), operators });
  }
  const buffers: TfliteBuffer[] = [];
  for (let b = 0; b < model.buffersLength(); b++) {
    const buffer = model.buffers(b)!;
    const offset = Number(buffer.offset());
    if (offset > 1) buffers.push({ offset, size: Number(buffer.size()), external: true });
    else {
      const data = checkedView(buffer.dataArray(), bytes);
      buffers.push(data ? { offset: data.byteOffset - bytes.byteOffset, size: data.byteLength, external: false } : { offset: 0, size: 0, external: false });
    }
  }
  const signatures: TfliteSignature[] = [];
  for (let i = 0; i < model.signatureDefsLength(); i++) {
    const sig = model.signatureDefs(i)!;
    const maps = (n: number, at: (j: number) => { name(): string | null; tensorIndex(): number } | null) =>
      Array.from({ length: n }, (_, j) => ({ name: at(j)!.name() ?? "", tensor: at(j)!.tensorIndex() }));
    signatures.push({
      key: sig.signatureKey() ?? "",
      subgraph: sig.subgraphIndex(),
      inputs: maps(sig.inputsLength(), (j) => sig.inputs(j)),
      outputs: maps(sig.outputsLength(), (j) => sig.outputs(j)),
    });
  }
  const metadata = Array.from({ length: model.metadataLength() }, (_, i) => ({ name: model.metadata(i)!.name() ?? "", buffer: model.metadata(i)!.buffer() }));
  return { version: model.version(), description: model.description() ?? "", subgraphs, buffers, signatures, metadata };
}

function readTensor(t: Tensor, index: number): TfliteTensor {
  const bytes = t.bb!.bytes();
  const q = t.quantization();
  let quantization: Quantization | undefined;
  if (q && q.scaleLength() > 0) {
    const scales = q.scaleArray();
    checkedView(bytesOf(scales), bytes);
    const scale = [...(scales ?? [])];
    const zeroPoint = Array.from({ length: q.zeroPointLength() }, (_, i) => Number(q.zeroPoint(i)));
    quantization = { scale, zeroPoint, axis: q.quantizedDimension() };
  }
  return {
    index,
    name: t.name() ?? `tensor_${index}`,
    type: t.type(),
    typeName: TensorType[t.type()] ?? `TYPE_${t.type()}`,
    shape: ints(t.shapeArray(), bytes),
    buffer: t.buffer(),
    ...(quantization ? { quantization } : {}),
    isVariable: t.isVariable(),
    sparse: t.sparsity() !== null,
  };
}

function bytesOf(view: ArrayBufferView | null): Uint8Array | null {
  return view ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : null;
}

function ints(view: Int32Array | null, bytes: Uint8Array): number[] {
  checkedView(bytesOf(view), bytes);
  return view ? [...view] : [];
}
