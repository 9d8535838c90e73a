/** Small constructors for building values to pickle (writers use these instead of `new` chains). */
import { WeightbridgeError } from "../errors.js";
import type { DType } from "../tensor/dtype.js";
import { resolveGlobal } from "./globals.js";
import { storageClassForDType } from "./global-names.js";
import { NumpyArray, NumpyDtype, TorchDtype, TorchStorageRef, TorchStorageType, TorchTensorRef } from "./typed.js";
import { PickleDict, PickleGlobal, PickleObject, PickleTuple, type PickleValue } from "./values.js";

export function tuple(...items: PickleValue[]): PickleTuple {
  return new PickleTuple(items);
}

export function dict(entries: Iterable<readonly [PickleValue, PickleValue]> = []): PickleDict {
  return new PickleDict(entries, false);
}

export function orderedDict(entries: Iterable<readonly [PickleValue, PickleValue]> = []): PickleDict {
  return new PickleDict(entries, true);
}

/** A reference to `module.name` (a class or function), written as GLOBAL. */
export function globalRef(module: string, name: string): PickleGlobal {
  return new PickleGlobal(module, name);
}

/** `module.name(*args)`: written as GLOBAL + args tuple + REDUCE. */
export function callGlobal(module: string, name: string, args: PickleValue[] = []): PickleObject {
  return new PickleObject(module, name, args, "reduce");
}

const storageTypes = new Map<DType, TorchStorageType>();

/** The `torch.<X>Storage` class torch 1.13 uses for an IR dtype (UntypedStorage when there is none); one object per class. */
export function torchStorageType(dtype: DType): TorchStorageType {
  let type = storageTypes.get(dtype);
  if (!type) {
    type = resolveGlobal("torch", storageClassForDType(dtype) ?? "UntypedStorage") as TorchStorageType;
    storageTypes.set(dtype, type);
  }
  return type;
}

/** A storage record `data/<key>` as torch.save's persistent id names it. */
export function torchStorage(dtype: DType, key: string, numel: number, location = "cpu"): TorchStorageRef {
  const type = torchStorageType(dtype);
  return new TorchStorageRef(type, key, location, numel, tuple("storage", type, key, location, numel));
}

/** `torch.<name>` dtype object. */
export function torchDtype(name: string): TorchDtype {
  const v = resolveGlobal("torch", name);
  if (!(v instanceof TorchDtype)) throw new WeightbridgeError("usage", `torch has no dtype named '${name}'`);
  return v;
}

/** A tensor view for `_rebuild_tensor_v2` (offset and strides in elements). */
export function torchTensor(storage: PickleValue, shape: number[], stride: number[], offset = 0, requiresGrad = false): TorchTensorRef {
  return new TorchTensorRef(storage, offset, shape, stride, requiresGrad, "_rebuild_tensor_v2", undefined, orderedDict());
}

/** A numpy dtype from an array-protocol descr such as `<f4` or `|u1`. */
export function numpyDtype(descr: string): NumpyDtype {
  const m = /^([<>|=])?([a-zA-Z?]\d*)$/.exec(descr);
  if (!m) throw new WeightbridgeError("usage", `'${descr}' is not a simple numpy dtype descr`);
  const d = new NumpyDtype(m[2]!);
  d.byteorder = m[1] ?? "|";
  return d;
}

/** A C-order ndarray over raw little-endian bytes, written as numpy's `_reconstruct` + BUILD. */
export function numpyArray(descr: string, shape: number[], data: Uint8Array, module = "numpy.core.multiarray"): NumpyArray {
  const a = new NumpyArray(module);
  a.dtype = numpyDtype(descr);
  a.shape = shape;
  a.data = data;
  a.built = true;
  return a;
}
