import { joinName, type JsonValue, type Structure } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { PickleDict, PickleGlobal, PickleObject, PickleSet, PickleTuple, PyByteArray, PyComplex, PyFloat, type PickleValue } from "../../pickle/values.js";
import { numpyScalarJson } from "../../numpy/scalars.js";
import { NumpyArray, NumpyDtype, NumpyScalar, TorchDevice, TorchDtype, TorchParameter, TorchTensorRef } from "../../pickle/typed.js";
import { WalkGuard } from "../../pickle/walk.js";

/** How the walker turns leaves it cannot handle alone into tensors. */
export interface WalkContext {
  /** A tensor for this value (tensor ref, parameter, numpy array), or undefined if it is no tensor. */
  tensor(value: PickleValue, name: string): Tensor | undefined;
  /** Objects of unknown classes: return a structure to use, or undefined for the default record. */
  object?(value: PickleObject, name: string, walk: (v: PickleValue, n: string) => Structure): Structure | undefined;
  tensors: Tensor[];
  warnings: string[];
  /** Bounds the walk (cycles, shared containers); made from the root on the first call. */
  guard?: WalkGuard;
}

const isContainer = (v: PickleValue): v is PickleDict | PickleValue[] | PickleTuple | PickleObject =>
  v instanceof PickleDict || Array.isArray(v) || v instanceof PickleTuple || v instanceof PickleObject;

/**
 * Walks an unpickled object into a Structure, collecting tensors under flattened names
 * (`model_state_dict.fc.weight`, `optimizer_state_dict.state.0.exp_avg`).
 */
export function walkValue(value: PickleValue, name: string, ctx: WalkContext, depth = 0): Structure {
  const guard = (ctx.guard ??= new WalkGuard(value));
  if (!isContainer(value)) return walkLeaf(value, name, ctx, depth);
  if (!guard.enter(value)) {
    ctx.warnings.push(`${name || "<root>"}: a container that holds itself; the repeat was not followed`);
    return { type: "value", value: { __cycle__: true } };
  }
  try {
    return walkLeaf(value, name, ctx, depth);
  } finally {
    guard.leave(value);
  }
}

function walkLeaf(value: PickleValue, name: string, ctx: WalkContext, depth: number): Structure {
  if (depth > 200) {
    ctx.warnings.push(`${name || "<root>"}: nesting deeper than 200 levels was not followed`);
    return { type: "value", value: null };
  }
  const recurse = (v: PickleValue, n: string) => walkValue(v, n, ctx, depth + 1);
  const tensor = ctx.tensor(value, name);
  if (tensor) {
    ctx.tensors.push(tensor);
    return { type: "tensor", name: tensor.name };
  }
  if (value instanceof PickleDict) {
    return {
      type: "dict",
      ordered: value.ordered,
      entries: [...value.entries()].map(([k, v]) => {
        const key = dictKey(k, ctx.guard!);
        return { key, value: recurse(v, joinName(name, key)) };
      }),
    };
  }
  if (Array.isArray(value)) return { type: "list", items: value.map((v, i) => recurse(v, joinName(name, i))) };
  if (value instanceof PickleTuple) return { type: "tuple", items: value.items.map((v, i) => recurse(v, joinName(name, i))) };
  if (value instanceof PickleObject) {
    const custom = ctx.object?.(value, name, recurse);
    if (custom) return custom;
    if (value.dictItems) {
      return {
        type: "dict",
        entries: [...value.dictItems.entries()].map(([k, v]) => {
          const key = dictKey(k, ctx.guard!);
          return { key, value: recurse(v, joinName(name, key)) };
        }),
      };
    }
    if (value.listItems) return { type: "list", items: value.listItems.map((v, i) => recurse(v, joinName(name, i))) };
    return { type: "value", value: { __class__: value.qualifiedName } };
  }
  const float = value instanceof PyFloat || (typeof value === "number" && !Number.isInteger(value));
  const json = jsonOf(value, ctx.guard);
  return float && typeof json === "number" ? { type: "value", value: json, float: true } : { type: "value", value: json };
}

function dictKey(key: PickleValue, guard: WalkGuard): string | number {
  if (typeof key === "number" && Number.isSafeInteger(key)) return key;
  if (typeof key === "string") return guard.text(key);
  if (typeof key === "bigint") return key.toString();
  if (typeof key === "boolean") return key ? "True" : "False";
  if (key === null) return "None";
  if (key instanceof PickleTuple) {
    if (!guard.enter(key)) return "(...)";
    try {
      return `(${key.items.map((k) => String(dictKey(k, guard))).join(", ")})`;
    } finally {
      guard.leave(key);
    }
  }
  return guard.text(String(jsonOf(key, guard)));
}

/**
 * A JSON rendering of a non-tensor value (lossy for exotic Python objects, which become labels).
 * Cycle-safe and bounded: a container met again on its own path becomes `{"__cycle__": true}`.
 */
export function jsonOf(value: PickleValue, guard: WalkGuard = new WalkGuard(value)): JsonValue {
  if (Array.isArray(value) || value instanceof PickleTuple || value instanceof PickleSet || value instanceof PickleDict) {
    if (!guard.enter(value)) return { __cycle__: true };
    try {
      return containerJson(value, guard);
    } finally {
      guard.leave(value);
    }
  }
  return typeof value === "string" ? guard.text(value) : scalarJson(value);
}

function containerJson(value: PickleValue[] | PickleTuple | PickleSet | PickleDict, guard: WalkGuard): JsonValue {
  if (Array.isArray(value)) return value.map((v) => jsonOf(v, guard));
  if (value instanceof PickleTuple || value instanceof PickleSet) return value.items.map((v) => jsonOf(v, guard));
  const out: { [k: string]: JsonValue } = {};
  for (const [k, v] of value) out[String(dictKey(k, guard))] = jsonOf(v, guard);
  return out;
}

function scalarJson(value: PickleValue): JsonValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof PyFloat) return Number.isFinite(value.value) ? value.value : String(value.value);
  if (value instanceof Uint8Array) return { __bytes__: value.byteLength };
  if (value instanceof TorchDtype) return `torch.${value.name}`;
  if (value instanceof TorchDevice) return value.index === null ? value.type : `${value.type}:${value.index}`;
  if (value instanceof NumpyScalar) return numpyScalarValue(value);
  if (value instanceof NumpyDtype) return value.descr;
  if (value instanceof PyComplex) return [value.real, value.imag];
  if (value instanceof PyByteArray) return { __bytes__: value.bytes.byteLength };
  if (value instanceof PickleGlobal) return { __global__: value.qualifiedName };
  if (value instanceof PickleObject) return { __class__: value.qualifiedName };
  if (value instanceof TorchTensorRef || value instanceof TorchParameter || value instanceof NumpyArray) return { __tensor__: true };
  return { __object__: (value as object).constructor?.name ?? "unknown" };
}

function numpyScalarValue(s: NumpyScalar): JsonValue {
  return numpyScalarJson(s.dtype.typestr, s.dtype.byteorder === ">", s.data) ?? { __numpy__: s.dtype.descr };
}
