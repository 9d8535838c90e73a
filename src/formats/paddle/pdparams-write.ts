import type { ByteSink } from "../../io/sink.js";
import type { PaddleWriteOptions as WriteOptions } from "./options.js";
import { checkUniqueNames, type Checkpoint, type JsonValue, type Structure } from "../../tensor/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { numelOf } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import { NumpyArray, PickleDict, PickleTuple, dict, numpyArray, pickleChunks, tuple, type PickleValue } from "../../pickle/index.js";
import { sliceElements } from "./big-arrays.js";
import { BATCH_COUNTERS_KEY, BIG_PARAM_INFO_KEY, NAME_TABLE_KEY, SLICE_SEPARATOR } from "./keys.js";
import { LazyArrays } from "./lazy-arrays.js";

export interface PdparamsWriteTuning {
  /** Elements per slice of the protocol-2/3 big-array split (Paddle: (2^30 - 1) // itemsize). Tests shrink it. */
  sliceElements?: (itemsize: number) => number;
}

/**
 * Writes a paddle.save-style pickle that paddle.load reads under numpy 1.x and 2.x: only
 * numpy.core.multiarray._reconstruct, numpy.ndarray and numpy.dtype (plus _codecs.encode and
 * __builtin__.bytes for protocol-2 bytes). Protocol 4 by default, 2 or 3 on request (then arrays
 * too big for Paddle's loader are split into `key@@.i` slices). bfloat16 goes out as uint16.
 * A checkpoint read from a paddle pickle is written back with its nesting; anything else as a
 * flat state dict plus StructuredToParameterName@@ when framework names are known.
 */
export async function writePdparams(checkpoint: Checkpoint, sink: ByteSink, options: WriteOptions, tuning: PdparamsWriteTuning = {}): Promise<void> {
  const protocol = options.formatOptions?.paddle?.pickleProtocol ?? 4;
  if (protocol !== 2 && protocol !== 3 && protocol !== 4) {
    throw new WeightbridgeError("usage", `paddle pickles use protocol 2, 3 or 4, not ${protocol}`, { file: sink.name });
  }
  const arrays = new LazyArrays(protocol === 4, sink.name);
  const structure = writableStructure(checkpoint);
  let root: PickleValue;
  if (structure) {
    const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
    root = await fromStructure(structure, byName, arrays);
  } else {
    root = await flatStateDict(checkpoint, options, arrays);
  }
  if (protocol < 4 && root instanceof PickleDict) root = splitBigArrays(root, tuning.sliceElements ?? sliceElements);
  await arrays.writeTo(sink, pickleChunks(root, { protocol }));
}

/** The source nesting, when the checkpoint came from a paddle pickle and still names exactly its tensors. */
function writableStructure(checkpoint: Checkpoint): Structure | undefined {
  const s = checkpoint.structure;
  if (checkpoint.format !== "paddle" || !s || s.type !== "dict") return undefined;
  const referenced = new Set<string>();
  const visit = (n: Structure): void => {
    if (n.type === "tensor") referenced.add(n.name);
    else if (n.type === "dict") n.entries.forEach((e) => visit(e.value));
    else if (n.type === "list" || n.type === "tuple") n.items.forEach(visit);
  };
  visit(s);
  const names = new Set(checkpoint.tensors.map((t) => t.name));
  if (referenced.size !== names.size || [...referenced].some((n) => !names.has(n))) return undefined;
  return s;
}

async function fromStructure(node: Structure, tensors: Map<string, Tensor>, arrays: LazyArrays): Promise<PickleValue> {
  switch (node.type) {
    case "tensor":
      return arrays.array(tensors.get(node.name)!);
    case "value":
      return fromJson(node.value);
    case "list":
      return Promise.all(node.items.map((i) => fromStructure(i, tensors, arrays)));
    case "tuple":
      return new PickleTuple(await Promise.all(node.items.map((i) => fromStructure(i, tensors, arrays))));
    case "dict": {
      const out = new PickleDict(undefined, node.ordered === true);
      for (const e of node.entries) out.set(e.key, await fromStructure(e.value, tensors, arrays));
      return out;
    }
  }
}

function fromJson(v: JsonValue): PickleValue {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === "object") return dict(Object.entries(v).map(([k, x]) => [k, fromJson(x)] as const));
  return v;
}

async function flatStateDict(checkpoint: Checkpoint, options: WriteOptions, arrays: LazyArrays): Promise<PickleDict> {
  const root = dict();
  checkUniqueNames(checkpoint.tensors);
  for (const t of checkpoint.tensors) {
    if (t.name === NAME_TABLE_KEY || t.name === BIG_PARAM_INFO_KEY || t.name === BATCH_COUNTERS_KEY)
      throw new WeightbridgeError("usage", "tensor name is reserved by paddle.save", { tensor: t.name });
    root.set(t.name, await arrays.array(t));
  }
  const known = stringTable(checkpoint.meta[NAME_TABLE_KEY]) ?? stringTable(options.template?.meta[NAME_TABLE_KEY]);
  if (known) {
    const table = dict(checkpoint.tensors.filter((t) => known.has(t.name)).map((t) => [t.name, known.get(t.name)!] as const));
    if (table.size > 0) root.set(NAME_TABLE_KEY, table);
  }
  const counters = checkpoint.meta[BATCH_COUNTERS_KEY];
  if (counters && typeof counters === "object" && !Array.isArray(counters)) root.set(BATCH_COUNTERS_KEY, fromJson(counters));
  const dropped = Object.keys(checkpoint.meta).filter((k) => k !== NAME_TABLE_KEY && k !== BATCH_COUNTERS_KEY && k !== "paddle_version");
  if (dropped.length > 0) options.warn?.(`a Paddle state dict holds tensors only; not written: ${dropped.join(", ")}`);
  return root;
}

function stringTable(v: JsonValue | undefined): Map<string, string> | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out = new Map<string, string>();
  for (const [k, fw] of Object.entries(v)) if (typeof fw === "string") out.set(k, fw);
  return out.size > 0 ? out : undefined;
}

/** Paddle's `_unpack_saved_dict`: top-level arrays over the element limit become 1-D slices + an info entry. */
function splitBigArrays(root: PickleDict, limitFor: (itemsize: number) => number): PickleDict {
  const out = new PickleDict(undefined, root.ordered);
  const info = dict();
  for (const [key, value] of root) {
    if (typeof key !== "string" || !(value instanceof NumpyArray) || !(value.data instanceof Uint8Array) || !value.dtype) {
      out.set(key, value);
      continue;
    }
    const itemsize = value.dtype.itemsize!;
    const limit = limitFor(itemsize);
    const numel = numelOf(value.shape);
    if (numel <= limit) {
      out.set(key, value);
      continue;
    }
    const slices: string[] = [];
    for (let i = 0, start = 0; start < numel; i++, start += limit) {
      const count = Math.min(limit, numel - start);
      const sliceKey = `${key}${SLICE_SEPARATOR}${i}`;
      slices.push(sliceKey);
      out.set(sliceKey, numpyArray(value.dtype.descr, [count], value.data.subarray(start * itemsize, (start + count) * itemsize), value.module));
    }
    info.set(
      key,
      dict([
        ["OriginShape", tuple(...value.shape)],
        ["slices", slices],
      ]),
    );
  }
  if (info.size > 0) out.set(BIG_PARAM_INFO_KEY, info);
  return out;
}
