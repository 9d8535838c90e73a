import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { WeightbridgeError } from "../../errors.js";
import { packageFile } from "../../util/package-root.js";

// Decoded shapes of the onnx.proto subset in schemas/onnx.proto (field names kept snake_case).
// int64 fields arrive as numbers or Long objects depending on size; see int64Of().

export type Int64 = number | { toString(): string };

export interface StringStringEntry {
  key?: string;
  value?: string;
}

export interface TensorProto {
  dims: Int64[];
  data_type?: number;
  float_data: number[];
  int32_data: number[];
  string_data: Uint8Array[];
  int64_data: Int64[];
  name?: string;
  raw_data?: Uint8Array;
  external_data: StringStringEntry[];
  data_location?: number;
  double_data: number[];
  uint64_data: Int64[];
  /** Not protobuf: where raw_data lies in the file when the reader left it out (./skeleton.ts). */
  rawRange?: { offset: number; length: number };
}

export interface SparseTensorProto {
  values?: TensorProto;
  indices?: TensorProto;
  dims: Int64[];
}

export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  sparse_tensor?: SparseTensorProto;
  floats: number[];
  ints: Int64[];
  /** A subgraph (If branches, Loop/Scan bodies). */
  g?: GraphProto;
  graphs: GraphProto[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute: AttributeProto[];
}

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim: Array<{ dim_value?: Int64; dim_param?: string }> } };
}
export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
}

export interface GraphProto {
  node: NodeProto[];
  name?: string;
  initializer: TensorProto[];
  sparse_initializer: SparseTensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
}

export interface ModelProto {
  ir_version?: Int64;
  opset_import: Array<{ domain?: string; version?: Int64 }>;
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props: StringStringEntry[];
}

/**
 * Field numbers from schemas/onnx.proto for the code that reads or writes the wire format
 * directly (streaming writes, verbatim copies, the skeleton reader).
 */
export const FIELD = {
  model: { graph: 7 },
  graph: { node: 1, initializer: 5, sparseInitializer: 15 },
  node: { output: 2, opType: 4, attribute: 5, domain: 7 },
  attribute: { name: 1, tensor: 5, graph: 6, graphs: 11 },
  tensor: { rawData: 9 },
} as const;

/** A protobuf message cannot exceed 2 GiB − 1 bytes, so neither can a valid .onnx file. */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

let root: protobuf.Root | undefined;

function schemaRoot(): protobuf.Root {
  if (!root) {
    const text = readFileSync(packageFile("schemas/onnx.proto"), "utf8");
    root = protobuf.parse(text, { keepCase: true }).root;
  }
  return root;
}

export function messageType(name: "ModelProto" | "GraphProto" | "TensorProto" | "ValueInfoProto" | "SparseTensorProto"): protobuf.Type {
  return schemaRoot().lookupType(`onnx.${name}`);
}

/** Decodes a ModelProto; bytes fields (raw_data) are views into `bytes`, not copies. */
export function decodeModel(bytes: Uint8Array, file: string): ModelProto {
  try {
    return messageType("ModelProto").decode(bytes) as unknown as ModelProto;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const code = /index out of range/i.test(message) ? "truncated" : "corrupt";
    throw new WeightbridgeError(code, `not a valid ONNX protobuf (${message.split("\n")[0]})`, { file }, { cause: e });
  }
}

/** Encodes a plain object as the named message. */
export function encodeMessage(name: Parameters<typeof messageType>[0], value: Record<string, unknown>): Uint8Array {
  const type = messageType(name);
  return type.encode(type.fromObject(value)).finish();
}

/** Whether a proto2 optional field was present on the wire (decoded messages keep defaults on the prototype). */
export function has(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

/** An int64 field as a bigint. */
export function int64Of(value: Int64 | undefined): bigint {
  if (value === undefined) return 0n;
  return typeof value === "number" ? BigInt(value) : BigInt(value.toString());
}

/** An int64 field that must be a safe, non-negative JS number (dims, counts). */
export function sizeOf(value: Int64, what: string): number {
  const big = int64Of(value);
  if (big < 0n || big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new WeightbridgeError("corrupt", `${what} ${big} is not a valid size`);
  }
  return Number(big);
}
