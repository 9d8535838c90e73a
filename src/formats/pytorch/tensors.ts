import { WeightbridgeError } from "../../errors.js";
import type { Tensor, TensorData } from "../../tensor/tensor.js";
import { TorchParameter, TorchStorageRef, TorchTensorRef } from "../../pickle/typed.js";
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
    let ref = value;
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
export function storageKeys(value: PickleValue, seen = new Set<string>(), depth = 0, visited = new Set<object>()): Set<string> {
  if (depth > 500 || value === null || typeof value !== "object") return seen;
  if (visited.has(value)) return seen;
  visited.add(value);
  if (value instanceof TorchStorageRef) {
    seen.add(value.key);
    return seen;
  }
  const children: unknown[] =
    value instanceof Map ? [...value.keys(), ...value.values()]
    : Array.isArray(value) ? value
    : Object.values(value as object);
  for (const child of children) storageKeys(child as PickleValue, seen, depth + 1, visited);
  return seen;
}
