import { WeightbridgeError } from "../../errors.js";
import type { Tensor, TensorData } from "../../tensor/tensor.js";
import { NumpyArray, TorchParameter, TorchStorageRef, TorchTensorRef } from "../../pickle/typed.js";
import { arrayTensor } from "../../pickle/array-tensor.js";
import { memorySource } from "../../io/source.js";
import type { PickleValue } from "../../pickle/values.js";
import { dtypeSize } from "../../tensor/dtype.js";
import { viewData, type StorageBlob } from "./storage.js";

/**
 * Turns unpickled tensor references into IR tensors over storages, keeping identical views
 * identical (tied weights share one TensorData) and checking every view against its storage.
 */
export class TensorResolver {
  private readonly views = new Map<string, TensorData>();
  readonly warnings: string[] = [];

  constructor(
    private readonly storages: Map<string, StorageBlob>,
    private readonly bigEndian: boolean,
  ) {}

  tensor(value: PickleValue, name: string): Tensor | undefined {
    // numpy arrays torch.save pickled beside (or instead of) tensors: their bytes are in the pickle.
    if (value instanceof NumpyArray) return { name, ...arrayTensor(value, name, memorySource(new Uint8Array(0), "data.pkl")) };
    let ref: PickleValue = value;
    let role: string | undefined;
    if (ref instanceof TorchParameter) {
      ref = ref.data;
      role = "parameter";
    }
    if (!(ref instanceof TorchTensorRef)) return undefined;
    const storage = ref.storage;
    if (!(storage instanceof TorchStorageRef)) {
      this.warnings.push(`${name}: tensor without a stored storage (meta or device tensor) skipped`);
      return undefined;
    }
    const dtype = ref.irDType;
    if (!dtype) {
      const torchName = ref.dtype?.name ?? storage.storageType.torchDtype;
      throw new WeightbridgeError("unsupported", `torch dtype ${torchName} has no weightbridge equivalent`, { tensor: name });
    }
    const blob = this.storages.get(storage.key);
    if (!blob) throw new WeightbridgeError("corrupt", `storage '${storage.key}' is not in the archive`, { tensor: name });
    const declared = storage.storageType.untyped ? storage.numel : storage.numel * dtypeSize(dtype);
    if (blob.byteLength < declared) {
      throw new WeightbridgeError("corrupt", `storage ${blob.label} has ${blob.byteLength} bytes but declares ${declared}`, { tensor: name });
    }
    const key = `${storage.key}|${dtype}|${ref.offset}|${ref.shape.join(",")}|${ref.stride.join(",")}`;
    let data = this.views.get(key);
    if (!data) {
      data = viewData(blob, { dtype, offset: ref.offset, shape: ref.shape, stride: ref.stride }, name, this.bigEndian);
      this.views.set(key, data);
    }
    const tensor: Tensor = { name, dtype, shape: [...ref.shape], data };
    if (role) tensor.role = role;
    return tensor;
  }
}

/** Storage keys referenced by an unpickled value, in first-seen order. */
export function storageKeys(value: PickleValue): Set<string> {
  return new Set(storageRefs(value).keys());
}

/** The storage references (by key, first seen wins) an unpickled value holds, in first-seen order. */
export function storageRefs(value: PickleValue): Map<string, TorchStorageRef> {
  const found = new Map<string, TorchStorageRef>();
  const visited = new Set<object>();
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (depth > 500 || v === null || typeof v !== "object" || visited.has(v)) continue;
    visited.add(v);
    if (v instanceof TorchStorageRef) {
      if (!found.has(v.key)) found.set(v.key, v);
      continue;
    }
    if (v instanceof Uint8Array) continue;
    const children: unknown[] = v instanceof Map ? [...v.keys(), ...v.values()] : Array.isArray(v) ? v : Object.values(v as object);
    // Reversed so the stack pops children in order: keys keep first-seen order.
    for (let i = children.length - 1; i >= 0; i--) stack.push({ value: children[i], depth: depth + 1 });
  }
  return found;
}
