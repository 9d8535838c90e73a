import { basename } from "node:path";
import type { ByteSink } from "../../io/sink.js";
import { ZipWriter } from "../../io/zip.js";
import type { Checkpoint, JsonValue, Structure } from "../../tensor/checkpoint.js";
import { contiguousStrides, type Tensor, type TensorData } from "../../tensor/tensor.js";
import { dtypeSize, isPacked, numelOf } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import { streamTensor } from "../../kernels/stream.js";
import { DictStream, picklePausingTo } from "../../pickle/index.js";
import { storageClassForDType } from "../../pickle/global-names.js";
import { dict, orderedDict, torchDtype, torchStorage, torchTensor, tuple } from "../../pickle/make.js";
import { TorchTensorRef } from "../../pickle/typed.js";
import { PyFloat, type PickleValue } from "../../pickle/values.js";
import { utf8 } from "../../util/bytes.js";
import type { WriteOptions } from "../types.js";

/**
 * Writes a torch.save-style zip (STORED records, 64-byte aligned, `version` 3, protocol-2
 * pickle) that torch.load(weights_only=True) accepts on torch 1.13 and 2.x for state dicts.
 * A nested source structure (training checkpoints) is written back as it was.
 */
export async function writeTorchZip(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions): Promise<void> {
  // One record per distinct data (tied weights share one), `data/<index>`; the pickle is made as
  // it is written, one tensor's values at a time (10^6 tiny tensors must not be 10^6 trees at once).
  const storageOf = new Map<TensorData, number>();
  const stored: Tensor[] = [];
  const tensorValue = (t: Tensor): PickleValue => {
    let index = storageOf.get(t.data);
    if (index === undefined || stored[index]!.dtype !== t.dtype) {
      index = stored.length;
      stored.push(t);
      storageOf.set(t.data, index);
    }
    return tensorRef(t, String(index), options);
  };
  const structured = structureMatches(checkpoint);
  if (checkpoint.structure && !structured) options.warn?.("tensor names no longer match the source's nesting; writing a flat state dict");
  const root = structured
    ? fromStructure(checkpoint.structure!, new Map(checkpoint.tensors.map((t) => [t.name, t])), tensorValue)
    : new DictStream(() => stateDictEntries(checkpoint.tensors, tensorValue), true);
  // data.pkl is the first record, written as it is pickled (its size and CRC-32 go after it).
  const zip = new ZipWriter(sink, { alignment: 64 });
  const folder = archiveName(sink.name);
  const pkl = await zip.begin(`${folder}/data.pkl`);
  await picklePausingTo(root, { protocol: 2 }, (chunk) => pkl.write(chunk));
  await pkl.close();
  storageOf.clear();
  await zip.add(`${folder}/byteorder`, 6, [utf8("little")]);
  for (let i = 0; i < stored.length; i++) {
    const tensor = stored[i]!;
    await zip.add(`${folder}/data/${i}`, tensor.data.byteLength, streamTensor(tensor), tensor.data.crc32);
  }
  await zip.add(`${folder}/version`, 2, [utf8("3\n")]);
  await zip.finish();
}

function* stateDictEntries(tensors: readonly Tensor[], tensorValue: (t: Tensor) => PickleValue): Generator<readonly [PickleValue, PickleValue]> {
  for (const t of tensors) yield [t.name, tensorValue(t)];
}

/** torch names the top folder after the file (`/x/sd.pt` → `sd`); `archive` for streams. */
function archiveName(sinkName: string): string {
  const base = basename(sinkName).replace(/\.[^.]*$/, "");
  return /^[\w.-]+$/.test(base) && base !== "" && !sinkName.startsWith("<") ? base : "archive";
}

function tensorRef(t: Tensor, key: string, options: WriteOptions): PickleValue {
  // torch's int4/uint4 dtypes (2.5+) are placeholders without storage semantics, not ONNX's packed pairs.
  if (isPacked(t.dtype)) throw new WeightbridgeError("unsupported", `torch has no packed ${t.dtype} storage (two values per byte)`, { tensor: t.name });
  const numel = numelOf(t.shape);
  const stride = contiguousStrides(t.shape);
  if (storageClassForDType(t.dtype)) return torchTensor(torchStorage(t.dtype, key, numel), t.shape, stride);
  // No legacy storage class (uint16/32/64, float8): torch ≥ 2.3 reads these through
  // _rebuild_tensor_v3 with an UntypedStorage measured in bytes.
  options.warn?.(`${t.name}: ${t.dtype} needs torch ≥ 2.3 to load`);
  const storage = torchStorage(t.dtype, key, numel * dtypeSize(t.dtype));
  return new TorchTensorRef(storage, 0, t.shape, stride, false, "_rebuild_tensor_v3", torchDtype(t.dtype), orderedDict());
}

/** True when the structure names exactly the checkpoint's tensors (no renames since reading). */
function structureMatches(checkpoint: Checkpoint): boolean {
  if (!checkpoint.structure) return false;
  const names = new Set<string>();
  collectTensorNames(checkpoint.structure, names);
  return names.size === checkpoint.tensors.length && checkpoint.tensors.every((t) => names.has(t.name));
}

function collectTensorNames(node: Structure, out: Set<string>): void {
  if (node.type === "tensor") out.add(node.name);
  else if (node.type === "dict") node.entries.forEach((e) => collectTensorNames(e.value, out));
  else if (node.type === "list" || node.type === "tuple") node.items.forEach((i) => collectTensorNames(i, out));
}

function fromStructure(node: Structure, byName: Map<string, Tensor>, tensorValue: (t: Tensor) => PickleValue): PickleValue {
  const recurse = (n: Structure) => fromStructure(n, byName, tensorValue);
  switch (node.type) {
    case "tensor":
      return tensorValue(byName.get(node.name)!);
    case "dict": {
      const entries = node.entries.map((e) => [e.key, recurse(e.value)] as const);
      return node.ordered ? orderedDict(entries) : dict(entries);
    }
    case "list":
      return node.items.map(recurse);
    case "tuple":
      return tuple(...node.items.map(recurse));
    case "value":
      return fromJson(node.value, node.float === true);
  }
}

function fromJson(value: JsonValue, isFloat: boolean): PickleValue {
  if (typeof value === "number") return isFloat || !Number.isInteger(value) ? new PyFloat(value) : value;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => fromJson(v, false));
  return dict(Object.entries(value).map(([k, v]) => [k, fromJson(v, false)] as const));
}
