import { basename } from "node:path";
import { streamTensor } from "../../kernels/stream.js";
import type { ByteSink } from "../../io/sink.js";
import type { Tensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import type { WriteOptions } from "../types.js";
import { FIELD, MAX_PROTOBUF_BYTES, encodeMessage } from "./schema.js";
import { onnxTypeOf } from "./dtypes.js";
import { lengthPrefix } from "../../protobuf/wire.js";

// Writes a ModelProto without ever holding the weights in one buffer: the non-initializer
// fields are small, already-encoded byte runs; each initializer is a TensorProto header
// followed by its raw_data streamed from the tensor, or a reference into a side file.

export type InitializerRecord =
  /** A TensorProto written from a tensor (raw_data inline or external). */
  | { kind: "tensor"; tensor: Tensor }
  /** A complete `initializer` field copied verbatim (tag, length and payload). */
  | { kind: "verbatim"; bytes: Uint8Array };

export interface ModelPieces {
  /** Encoded ModelProto fields other than the graph. */
  modelFields: Uint8Array[];
  /** Encoded GraphProto fields other than the initializers written from `initializers`. */
  graphFields: Uint8Array[];
  initializers: InitializerRecord[];
}

/** Side-file offsets are page-aligned so runtimes can mmap them (ONNX external-data guidance). */
export const EXTERNAL_ALIGNMENT = 4096;
const zeros = new Uint8Array(EXTERNAL_ALIGNMENT);

interface Planned {
  header: Uint8Array;
  /** Bytes streamed after the header inside the TensorProto (raw_data prefix + data), or 0. */
  inlineData: number;
  external?: { offset: number };
  record: InitializerRecord;
}

function plan(pieces: ModelPieces, location: string | undefined): { items: Planned[]; sideBytes: number } {
  let side = 0;
  const items = pieces.initializers.map((record): Planned => {
    if (record.kind === "verbatim") return { header: record.bytes, inlineData: 0, record };
    const t = record.tensor;
    const base = { dims: t.shape, data_type: onnxTypeOf(t.dtype, t.name), name: t.name };
    const bytes = t.data.byteLength;
    if (location !== undefined && bytes > 0) {
      const offset = Math.ceil(side / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      side = offset + bytes;
      const external_data = [
        { key: "location", value: location },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(bytes) },
      ];
      return { header: encodeMessage("TensorProto", { ...base, data_location: 1, external_data }), inlineData: 0, external: { offset }, record };
    }
    const inlineData = bytes > 0 ? lengthPrefix(FIELD.tensor.rawData, bytes).byteLength + bytes : 0;
    return { header: encodeMessage("TensorProto", base), inlineData, record };
  });
  return { items, sideBytes: side };
}

function recordLength(item: Planned): number {
  if (item.record.kind === "verbatim") return item.header.byteLength;
  const payload = item.header.byteLength + item.inlineData;
  return lengthPrefix(FIELD.graph.initializer, payload).byteLength + payload;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

function graphLength(pieces: ModelPieces, items: Planned[]): number {
  return sum(pieces.graphFields.map((f) => f.byteLength)) + sum(items.map(recordLength));
}

export interface EmitOptions extends Pick<WriteOptions, "siblingSink" | "warn"> {
  /** true: side file; false: inline; "auto": inline unless the model would pass protobuf's 2 GiB. */
  external: boolean | "auto";
}

export async function emitModel(pieces: ModelPieces, sink: ByteSink, options: EmitOptions): Promise<void> {
  const sideName = `${basename(sink.name)}.data`;
  let planned = plan(pieces, options.external === true ? sideName : undefined);
  const modelBytes = (p: typeof planned): number => {
    const graph = graphLength(pieces, p.items);
    return sum(pieces.modelFields.map((f) => f.byteLength)) + lengthPrefix(FIELD.model.graph, graph).byteLength + graph;
  };
  if (options.external === "auto" && modelBytes(planned) > MAX_PROTOBUF_BYTES) {
    options.warn?.(`ONNX weights pass protobuf's 2 GiB limit: writing them to the side file '${sideName}'`);
    planned = plan(pieces, sideName);
  }
  if (modelBytes(planned) > MAX_PROTOBUF_BYTES) {
    throw new WeightbridgeError("unsupported", "the ONNX graph itself (without weights) passes protobuf's 2 GiB limit", { file: sink.name });
  }
  const externals = planned.items.filter((i) => i.external);
  const side = externals.length > 0 ? await openSide(sideName, options) : undefined;

  for (const field of pieces.modelFields) await sink.write(field);
  await sink.write(lengthPrefix(FIELD.model.graph, graphLength(pieces, planned.items)));
  for (const field of pieces.graphFields) await sink.write(field);
  for (const item of planned.items) {
    if (item.record.kind === "verbatim") {
      await sink.write(item.header);
      continue;
    }
    await sink.write(lengthPrefix(FIELD.graph.initializer, item.header.byteLength + item.inlineData));
    await sink.write(item.header);
    if (item.inlineData > 0) {
      await sink.write(lengthPrefix(FIELD.tensor.rawData, item.record.tensor.data.byteLength));
      await writeTensor(item.record.tensor, sink);
    }
  }
  if (side) {
    for (const item of externals) {
      const pad = item.external!.offset - side.position;
      for (let left = pad; left > 0; left -= EXTERNAL_ALIGNMENT) await side.write(zeros.subarray(0, Math.min(left, EXTERNAL_ALIGNMENT)));
      await writeTensor((item.record as { tensor: Tensor }).tensor, side);
    }
  }
}

async function openSide(name: string, options: EmitOptions): Promise<ByteSink> {
  if (!options.siblingSink) {
    throw new WeightbridgeError("usage", `ONNX external data needs a side file '${name}', but this output cannot create one`);
  }
  return options.siblingSink(name);
}

/** The shared streaming path (read-ahead, reused buffers, length check), into a sink. */
async function writeTensor(tensor: Tensor, sink: ByteSink): Promise<void> {
  for await (const chunk of streamTensor(tensor)) await sink.write(chunk);
}
