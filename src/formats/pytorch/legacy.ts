import { WeightbridgeError } from "../../errors.js";
import type { ByteSource } from "../../io/source.js";
import { sourceData } from "../../tensor/tensor.js";
import { dtypeSize } from "../../tensor/dtype.js";
import type { Checkpoint } from "../../tensor/checkpoint.js";
import { defaultPersistentLoad, pickleInputOf, type UnpickleResult } from "../../pickle/index.js";
import type { PickleSources } from "../../pickle/containers.js";
import { TorchStorageRef, TorchStorageType } from "../../pickle/typed.js";
import { intOf, isDict, sequenceItems, type PickleValue } from "../../pickle/values.js";
import type { ReadOptions } from "../types.js";
import { checkpointFromObject, unpickleTorch, unsafeWarnings } from "./read.js";
import type { StorageBlob } from "./storage.js";
import { storageRefs, TensorResolver } from "./tensors.js";

/**
 * The pre-1.6 `torch.save` stream (`_use_new_zipfile_serialization=False`): five pickles —
 * magic number, protocol version 1001, sys_info, the object, the sorted storage keys — then, for
 * each key in that list, an int64 LE element count and the raw little-endian elements.
 */

const MAGIC = 0x1950a86a20f9469cfc6cn;
/** LONG1 of 10 bytes holding MAGIC, as protocol ≥ 2 pickles write it. */
const MAGIC_LONG1 = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const MAGIC_TEXT = `L${MAGIC.toString()}`;
const PICKLE_NAMES = ["magic number", "protocol version", "sys_info", "object", "storage keys"];

/** True when `head` starts with the legacy magic-number pickle (any protocol). */
export function isLegacyTorch(head: Uint8Array): boolean {
  let at = 0;
  if (head[0] === 0x80) at = 2; // PROTO n
  if (head[at] === 0x95) at += 9; // FRAME (protocol 4+)
  if (MAGIC_LONG1.every((b, i) => head[at + i] === b)) return true;
  return new TextDecoder("latin1").decode(head.subarray(at, at + MAGIC_TEXT.length)) === MAGIC_TEXT;
}

/** The ≤0.1.9 format: a tar whose members are sys_info, pickle, storages and tensors. */
export function isLegacyTar(head: Uint8Array): boolean {
  if (head.length < 512 || new TextDecoder("latin1").decode(head.subarray(257, 262)) !== "ustar") return false;
  const end = head.subarray(0, 100).indexOf(0);
  const first = new TextDecoder("latin1").decode(head.subarray(0, end < 0 ? 100 : end));
  return ["sys_info", "pickle", "storages", "tensors"].includes(first);
}

export interface LegacyPickles {
  pickles: UnpickleResult[];
  /** Labels such as `model.pt:pickle 4 (object)`. */
  labels: string[];
  /** Offset of the first storage's count header. */
  dataStart: number;
}

/**
 * Parses the five leading pickles, reading the file front in doubling chunks (the pickles end
 * where the raw storages begin, which nothing announces). `parse` interprets each pickle.
 */
export async function readLegacyPickles(
  source: ByteSource,
  parse: (bytes: Uint8Array, start: number, index: number, label: string) => UnpickleResult,
): Promise<LegacyPickles> {
  let length = Math.min(source.size, 1 << 20);
  for (;;) {
    const bytes = await source.read(0, length);
    try {
      const pickles: UnpickleResult[] = [];
      const labels: string[] = [];
      let start = 0;
      for (let i = 0; i < PICKLE_NAMES.length; i++) {
        const label = `${source.name}:pickle ${i + 1} (${PICKLE_NAMES[i]})`;
        const result = parse(bytes, start, i, label);
        pickles.push(result);
        labels.push(label);
        start = result.end;
      }
      return { pickles, labels, dataStart: start };
    } catch (e) {
      if (e instanceof WeightbridgeError && e.code === "truncated" && length < source.size) {
        length = Math.min(source.size, length * 2);
        continue;
      }
      throw e;
    }
  }
}

/** The five leading pickles, for scan: they follow each other from byte 0. */
export async function legacyPickles(source: ByteSource): Promise<PickleSources> {
  const sequence = PICKLE_NAMES.map((n, i) => `pickle ${i + 1} (${n})`);
  return { container: "legacy-torch", streams: [{ name: "pickles", input: await pickleInputOf(source), start: 0, sequence }], unopened: [] };
}

/** Reads a legacy file: checks the header pickles, then maps each storage to a byte range of the file. */
export async function readTorchLegacy(source: ByteSource, options: ReadOptions = {}): Promise<Checkpoint> {
  const warnings: string[] = [];
  const views = new Map<string, { root: string; offset: number }>();
  const persistentLoad = (pid: PickleValue) => legacyPersistentLoad(pid, views);
  const { pickles, labels, dataStart } = await readLegacyPickles(source, (bytes, start, _index, label) =>
    unpickleTorch(bytes, label, options, [], { start, persistentLoad }),
  );
  pickles.forEach((p, i) => warnings.push(...unsafeWarnings(p, labels[i]!)));
  const [magic, protocol, sysInfo, root, keyList] = pickles.map((p) => p.value) as PickleValue[];
  const fail = (code: "bad-magic" | "unsupported" | "corrupt", why: string) => new WeightbridgeError(code, why, { file: source.name });
  if (magic !== MAGIC) throw fail("bad-magic", "legacy PyTorch file does not start with torch's magic number");
  if (intOf(protocol) !== 1001) throw fail("unsupported", `legacy PyTorch protocol version ${String(protocol)} (only 1001 exists)`);
  if (isDict(sysInfo) && sysInfo.get("little_endian") === false) {
    warnings.push("written on a big-endian machine; torch stores legacy data little-endian, read as such");
  }
  const keys = sequenceItems(keyList);
  if (!keys || !keys.every((k) => typeof k === "string" || typeof k === "number")) throw fail("corrupt", "storage key list is not a list of keys");
  const refs = storageRefs(root!);
  const storages = new Map<string, StorageBlob>();
  let at = dataStart;
  for (const rawKey of keys) {
    const key = String(rawKey);
    const ref = refs.get(key) ?? [...refs.values()].find((r) => views.get(r.key)?.root === key);
    if (!ref) throw fail("corrupt", `storage '${key}' is listed but no tensor uses it, so its element size is unknown (at byte ${at})`);
    const size = elementSize(ref.storageType);
    if (at + 8 > source.size) throw new WeightbridgeError("truncated", `file ends before storage '${key}'`, { file: source.name, offset: at });
    const header = await source.read(at, 8);
    const count = new DataView(header.buffer, header.byteOffset, 8).getBigInt64(0, true);
    const byteLength = count * BigInt(size);
    if (count < 0n || byteLength > BigInt(source.size - at - 8)) {
      throw new WeightbridgeError("truncated", `storage '${key}' declares ${count} elements but the file ends first`, { file: source.name, offset: at });
    }
    storages.set(key, rangeBlob(source, key, at + 8, Number(byteLength)));
    at += 8 + Number(byteLength);
  }
  for (const [viewKey, { root: rootKey, offset }] of views) {
    const base = storages.get(rootKey);
    const ref = refs.get(viewKey);
    if (!base || !ref) continue; // an unused or dangling view fails when a tensor needs it
    const size = elementSize(ref.storageType);
    const start = offset * size;
    const length = Math.min(ref.numel * size, Math.max(0, base.byteLength - start));
    storages.set(viewKey, subBlob(base, viewKey, start, length));
  }
  const resolver = new TensorResolver(storages, false);
  resolver.warnings.push(...warnings);
  return checkpointFromObject(root!, resolver, "pytorch");
}

/** Legacy ids are 6-tuples whose last item, when not None, makes the storage a view `(view_key, offset, numel)` of another. */
function legacyPersistentLoad(pid: PickleValue, views: Map<string, { root: string; offset: number }>): PickleValue {
  const items = sequenceItems(pid);
  const view = items && items.length === 6 && items[0] === "storage" ? sequenceItems(items[5]) : undefined;
  if (items && view && view.length === 3 && items[1] instanceof TorchStorageType) {
    const [viewKey, offset, numel] = view;
    const off = intOf(offset);
    const n = intOf(numel);
    if ((typeof viewKey === "string" || typeof viewKey === "number") && off !== undefined && off >= 0 && n !== undefined && n >= 0) {
      views.set(String(viewKey), { root: String(items[2]), offset: off });
      return new TorchStorageRef(items[1], String(viewKey), String(items[3]), n, pid);
    }
  }
  return defaultPersistentLoad(pid);
}

const QUANTIZED_SIZES: Record<string, number> = { qint8: 1, quint8: 1, qint32: 4, quint4x2: 1, quint2x4: 1, complex32: 4 };

function elementSize(type: TorchStorageType): number {
  if (type.untyped) return 1;
  if (type.dtype) return dtypeSize(type.dtype);
  const size = QUANTIZED_SIZES[type.torchDtype];
  if (size === undefined) throw new WeightbridgeError("unsupported", `legacy storage class torch.${type.name} has no known element size`);
  return size;
}

function rangeBlob(source: ByteSource, key: string, base: number, byteLength: number): StorageBlob {
  return {
    label: `storage ${key} (byte ${base})`,
    byteLength,
    range: (offset, length) => sourceData(source, base + offset, length),
    read: (offset, length) => source.read(base + offset, length),
  };
}

function subBlob(base: StorageBlob, key: string, start: number, byteLength: number): StorageBlob {
  return {
    label: `storage view ${key} of ${base.label}`,
    byteLength,
    range: (offset, length) => base.range(start + offset, length),
    read: (offset, length) => base.read(start + offset, length),
  };
}
