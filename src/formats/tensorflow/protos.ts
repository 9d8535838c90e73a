import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { WeightbridgeError, type ErrorLocation } from "../../errors.js";
import { packageFile } from "../../util/package-root.js";
import { pushVarint } from "../../protobuf/wire.js";

// Decoded shapes of schemas/tensorflow/*.proto (snake_case field names kept). int64 fields
// arrive as numbers or Long objects: see int64().

type Int64 = number | { toString(): string };

export interface ShapeProto {
  dim: Array<{ size?: Int64; name?: string }>;
  unknown_rank?: boolean;
}

export interface SliceProto {
  extent: Array<{ start?: Int64; length?: Int64 }>;
}

export interface BundleHeader {
  num_shards?: number;
  endianness?: number;
  version?: { producer?: number; min_consumer?: number; bad_consumers: number[] };
}

export interface BundleEntry {
  dtype?: number;
  shape?: ShapeProto;
  shard_id?: number;
  offset?: Int64;
  size?: Int64;
  crc32c?: number;
  slices: SliceProto[];
}

export interface ObjectGraph {
  nodes: Array<{
    children: Array<{ node_id?: number; local_name?: string }>;
    attributes: Array<{ name?: string; full_name?: string; checkpoint_key?: string }>;
    slot_variables: Array<{ original_variable_node_id?: number; slot_name?: string; slot_variable_node_id?: number }>;
  }>;
}

export interface SavedModelProto {
  saved_model_schema_version?: Int64;
  meta_graphs: Array<{
    object_graph_def?: {
      nodes: Array<{
        children: Array<{ node_id?: number; local_name?: string }>;
        user_object?: { identifier?: string; metadata?: string };
        variable?: { name?: string };
      }>;
    };
  }>;
}

export interface KerasMetadata {
  nodes: Array<{ node_id?: number; node_path?: string; identifier?: string; metadata?: string }>;
}

const TYPES = {
  BundleHeaderProto: "tensorflow.BundleHeaderProto",
  BundleEntryProto: "tensorflow.BundleEntryProto",
  TrackableObjectGraph: "tensorflow.TrackableObjectGraph",
  SavedModel: "tensorflow.SavedModel",
  SavedMetadata: "third_party.py.keras.protobuf.SavedMetadata",
} as const;

type TypeName = keyof typeof TYPES;

let root: protobuf.Root | undefined;

function messageType(name: TypeName): protobuf.Type {
  if (!root) {
    root = new protobuf.Root();
    for (const file of ["tensorflow.proto", "keras_saved_metadata.proto"]) {
      const text = readFileSync(packageFile(`schemas/tensorflow/${file}`), "utf8");
      protobuf.parse(text, root, { keepCase: true });
    }
  }
  return root.lookupType(TYPES[name]);
}

export function decodeProto<T>(name: TypeName, bytes: Uint8Array, location: ErrorLocation): T {
  try {
    return messageType(name).decode(bytes) as unknown as T;
  } catch (e) {
    const message = e instanceof Error ? (e.message.split("\n")[0] ?? "") : String(e);
    const code = /index out of range/i.test(message) ? "truncated" : "corrupt";
    throw new WeightbridgeError(code, `${name} is not a valid protobuf (${message})`, location, { cause: e });
  }
}

export function encodeProto(name: TypeName, value: object): Uint8Array {
  const type = messageType(name);
  return type.encode(type.fromObject(value)).finish();
}

/** An int64 as a JS number (exact below 2^53). */
export function int64(value: Int64 | undefined): number {
  if (value === undefined) return 0;
  return typeof value === "number" ? value : Number(value.toString());
}

/**
 * A BundleEntryProto of one unsliced entry in shard 0, byte for byte as encodeProto writes it
 * (fields in number order; the shape always, other proto3 scalars only when not 0, a dim's size too),
 * but without protobufjs' message objects: ~0.5 KiB of garbage per entry, 10^6 entries for as
 * many tiny tensors.
 */
export function encodeBundleEntry(dtype: number | undefined, dims: readonly number[], offset: number, size: number, maskedCrc32c: number): Uint8Array {
  const out: number[] = [];
  if (dtype) {
    out.push(0x08);
    pushVarint(out, dtype);
  }
  const dim: number[] = [];
  for (const d of dims) {
    const sizeField: number[] = [];
    if (d !== 0) {
      sizeField.push(0x08);
      pushVarint(sizeField, d);
    }
    dim.push(0x12, sizeField.length, ...sizeField);
  }
  out.push(0x12);
  pushVarint(out, dim.length);
  for (const b of dim) out.push(b);
  if (offset !== 0) {
    out.push(0x20);
    pushVarint(out, offset);
  }
  if (size !== 0) {
    out.push(0x28);
    pushVarint(out, size);
  }
  if (maskedCrc32c !== 0) out.push(0x35, maskedCrc32c & 0xff, (maskedCrc32c >>> 8) & 0xff, (maskedCrc32c >>> 16) & 0xff, maskedCrc32c >>> 24);
  return Uint8Array.from(out);
}
