import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { WeightbridgeError } from "../../errors.js";
import { DENSE_TENSOR_KIND, UNSAVED_VAR_KINDS } from "./dtypes.js";
import { packageFile } from "../../util/package-root.js";

// Decoded shapes of schemas/paddle_framework.proto (field names kept snake_case). int64 fields
// arrive as numbers or Long objects; see int64ToNumber().

type Int64 = number | { toString(): string };

export interface TensorDesc {
  data_type?: number;
  dims: Int64[];
}

export interface VarDesc {
  name?: string;
  type?: {
    type?: number;
    selected_rows?: TensorDesc;
    dense_tensor?: { tensor?: TensorDesc };
    tensor_array?: { tensor?: TensorDesc };
  };
  persistable?: boolean;
  is_parameter?: boolean;
  stop_gradient?: boolean;
}

export interface OpAttr {
  name?: string;
  type?: number;
  i?: number;
  f?: number;
  s?: string;
  b?: boolean;
  l?: Int64;
  ints: number[];
  floats: number[];
  strings: string[];
  bools: boolean[];
  longs: Int64[];
}

export interface OpDesc {
  type?: string;
  inputs: Array<{ parameter?: string; arguments: string[] }>;
  outputs: Array<{ parameter?: string; arguments: string[] }>;
  attrs: OpAttr[];
}

export interface BlockDesc {
  idx?: number;
  parent_idx?: number;
  vars: VarDesc[];
  ops: OpDesc[];
}

export interface ProgramDesc {
  blocks: BlockDesc[];
  version?: { version?: Int64 };
}

let root: protobuf.Root | undefined;

function messageType(name: "ProgramDesc" | "VarType.TensorDesc"): protobuf.Type {
  if (!root) {
    const text = readFileSync(packageFile("schemas/paddle_framework.proto"), "utf8");
    root = protobuf.parse(text, { keepCase: true }).root;
  }
  return root.lookupType(`paddle.framework.proto.${name}`);
}

function decode<T>(name: "ProgramDesc" | "VarType.TensorDesc", bytes: Uint8Array, what: string, file: string, offset?: number): T {
  try {
    return messageType(name).decode(bytes) as unknown as T;
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    const code = /index out of range/i.test(message ?? "") ? "truncated" : "corrupt";
    throw new WeightbridgeError(code, `${what} is not a valid protobuf (${message})`, { file, offset }, { cause: e });
  }
}

export function decodeProgram(bytes: Uint8Array, file: string): ProgramDesc {
  return decode<ProgramDesc>("ProgramDesc", bytes, "Paddle ProgramDesc", file);
}

export function decodeTensorDesc(bytes: Uint8Array, file: string, offset: number): TensorDesc {
  return decode<TensorDesc>("VarType.TensorDesc", bytes, "tensor record TensorDesc", file, offset);
}

/** An int64 as a JS number (exact below 2^53; larger magnitudes are not sizes anyway). */
export function int64ToNumber(value: Int64 | undefined): number {
  if (value === undefined) return 0;
  return typeof value === "number" ? value : Number(value.toString());
}

/** Paddle's release as `2.6.2` from ProgramDesc.version (major*1e6 + minor*1e3 + patch); undefined for 0. */
export function programVersion(program: ProgramDesc): string | undefined {
  const v = int64ToNumber(program.version?.version);
  if (!Number.isSafeInteger(v) || v <= 0) return undefined;
  return `${Math.floor(v / 1e6)}.${Math.floor(v / 1e3) % 1000}.${v % 1000}`;
}

/** A variable the inference model stores in its .pdiparams. */
export interface SavedVar {
  name: string;
  /** VarType.Type data_type declared by the program, when it has a tensor descriptor. */
  dataType?: number;
  /** Declared dims (-1 = unknown). */
  dims?: number[];
  isParameter: boolean;
}

function tensorDescOf(v: VarDesc): TensorDesc | undefined {
  const t = v.type;
  return t?.dense_tensor?.tensor ?? t?.selected_rows ?? t?.tensor_array?.tensor;
}

/**
 * The variables `save_inference_model` / `jit.save` write to .pdiparams, in record order:
 * persistable variables of every block except feed/fetch/reader/raw holders, de-duplicated by
 * name and sorted by code point (Python's sorted()).
 */
export function savedVariables(program: ProgramDesc): SavedVar[] {
  const byName = new Map<string, SavedVar>();
  for (const block of program.blocks) {
    for (const v of block.vars) {
      if (!v.persistable || !v.name || byName.has(v.name)) continue;
      const kind = v.type?.type ?? DENSE_TENSOR_KIND;
      if (UNSAVED_VAR_KINDS.has(kind)) continue;
      const desc = tensorDescOf(v);
      const saved: SavedVar = { name: v.name, isParameter: v.is_parameter === true };
      if (desc) {
        if (desc.data_type !== undefined) saved.dataType = desc.data_type;
        saved.dims = desc.dims.map(int64ToNumber);
      }
      byName.set(v.name, saved);
    }
  }
  return [...byName.values()].sort(compareNames);
}

/** Python's sorted() order for ASCII names (code units; differs only for astral characters). */
export function compareNames(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
