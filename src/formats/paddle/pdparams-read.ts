import type { ByteSource } from "../../io/source.js";
import { WalkGuard } from "../../pickle/walk.js";
import { joinName, metaOf, type Checkpoint, type JsonValue, type Structure } from "../../tensor/checkpoint.js";
import { makeTensor, type LayerHint, type Tensor } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import {
  NumpyArray,
  NumpyScalar,
  PickleDict,
  PickleTuple,
  PyFloat,
  describeValue,
  pickleInputOf,
  unpickleDetailed,
  type PickleValue,
} from "../../pickle/index.js";
import { arrayTensor, concatData, type ArrayTensor } from "./numpy-arrays.js";
import { reassembleBigArrays, type SplitArray } from "./big-arrays.js";
import { NAME_TABLE_KEY } from "./keys.js";
import { hintFromNames } from "./framework-names.js";
import { numpyScalarJson } from "../../numpy/scalars.js";

/** Optimizer accumulator suffixes (Adam/AdamW/Momentum...), e.g. `linear_0.w_0_moment1_0`. */
const ACCUMULATOR =
  /_(moment1|moment2|moment2_max|beta1_pow_acc|beta2_pow_acc|velocity|mean_square|mean_grad|squared|linear|avg_squared_grad|avg_squared_update)_\d+$/;

/**
 * Byte payloads longer than this (anything pickled as BINBYTES rather than SHORT_BINBYTES) are
 * left in the file by the unpickler and referenced by byte range; shorter ones (numpy scalars,
 * tiny arrays) are read into memory.
 */
const LAZY_BYTES_OVER = 255;

/**
 * Reads a paddle.save pickle (.pdparams, .pdopt, .pdtensor): ndarrays become tensors named by
 * their key path, `(name, ndarray)` tuples and `eval('data', {'data': x})` wrappers are unwrapped,
 * split big arrays are put back together, and everything else is kept as meta. The pickle is
 * read through a window with synchronous positioned reads; array bytes stored verbatim
 * (protocol 3/4) are never read here, only referenced. Protocol 2 stores them as latin-1 text,
 * which has to be decoded in memory.
 */
export async function readPdparams(source: ByteSource): Promise<Checkpoint> {
  const file = source.name;
  const input = await pickleInputOf(source);
  const { value } = unpickleDetailed(input, { name: file, lazyBytesOver: LAZY_BYTES_OVER });
  let root: PickleValue = value;
  let splits = new Map<string, SplitArray>();
  if (root instanceof PickleDict) ({ root, splits } = reassembleBigArrays(root, file));
  const walker = new Walker(source, splits, new WalkGuard(root, source.name));
  const structure = walker.walk(root, "");
  const nameTable = root instanceof PickleDict ? stringTable(root.get(NAME_TABLE_KEY)) : undefined;
  const tensors = walker.tensors.map(({ name, array, frameworkName }) => {
    const extra: Partial<Tensor> = {};
    const hint: LayerHint | undefined = hintFromNames(name, frameworkName ?? nameTable?.get(name));
    if (hint) extra.layer = hint;
    if (ACCUMULATOR.test(name) || name.startsWith("master_weights.")) extra.role = "optimizer-state";
    return makeTensor(name, array.dtype, array.shape, array.data, extra);
  });
  const checkpoint: Checkpoint = { format: "paddle", tensors, meta: metaOf(withoutTensorTuples(structure)), structure };
  if (walker.warnings.length > 0) checkpoint.warnings = walker.warnings;
  return checkpoint;
}

function stringTable(v: PickleValue | undefined): Map<string, string> | undefined {
  if (!(v instanceof PickleDict)) return undefined;
  const out = new Map<string, string>();
  for (const [k, fw] of v) if (typeof k === "string" && typeof fw === "string") out.set(k, fw);
  return out;
}

/** A `(framework_name, ndarray)` pair: how paddle.save writes a Tensor outside a plain state dict. */
function tensorTuple(v: PickleValue): [string, NumpyArray] | undefined {
  if (v instanceof PickleTuple && v.items.length === 2 && typeof v.items[0] === "string" && v.items[1] instanceof NumpyArray) {
    return [v.items[0], v.items[1]];
  }
  return undefined;
}

class Walker {
  readonly tensors: Array<{ name: string; array: ArrayTensor; frameworkName?: string }> = [];
  readonly warnings: string[] = [];
  private readonly names = new Set<string>();
  private depth = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly splits: Map<string, SplitArray>,
    private readonly guard: WalkGuard,
  ) {}

  private array(a: NumpyArray, name: string): ArrayTensor {
    const split = this.depth === 2 ? this.splits.get(name) : undefined;
    if (!split) return arrayTensor(a, name, this.source);
    const pieces = split.pieces.map((p, i) => arrayTensor(p, `${name}@@.${i}`, this.source));
    return { dtype: pieces[0]!.dtype, shape: split.shape, data: concatData(pieces.map((p) => p.data)) };
  }

  private addTensor(name: string, a: NumpyArray, frameworkName?: string): Structure {
    const tensorName = name === "" ? "tensor" : name;
    if (this.names.has(tensorName))
      throw new WeightbridgeError("corrupt", "two tensors flatten to the same name", { file: this.source.name, tensor: tensorName });
    this.names.add(tensorName);
    const entry: { name: string; array: ArrayTensor; frameworkName?: string } = { name: tensorName, array: this.array(a, tensorName) };
    if (frameworkName !== undefined) entry.frameworkName = frameworkName;
    this.tensors.push(entry);
    return { type: "tensor", name: tensorName };
  }

  walk(v: PickleValue, name: string): Structure {
    if (++this.depth > 200) throw new WeightbridgeError("unsupported", "pickle nesting deeper than 200 levels", { file: this.source.name, tensor: name });
    const container = v instanceof PickleDict || Array.isArray(v) || v instanceof PickleTuple;
    let entered = false;
    try {
      if (container && !(entered = this.guard.enter(v))) {
        this.warnings.push(`${name || "<root>"}: a container that holds itself; the repeat was kept as null`);
        return { type: "value", value: null };
      }
      return this.walkValue(v, name);
    } finally {
      if (entered) this.guard.leave(v as object);
      this.depth--;
    }
  }

  private walkValue(v: PickleValue, name: string): Structure {
    if (v instanceof NumpyArray) return this.addTensor(name, v);
    const pair = tensorTuple(v);
    if (pair) return { type: "tuple", items: [{ type: "value", value: this.guard.text(pair[0]) }, this.addTensor(name, pair[1], pair[0])] };
    if (v instanceof PickleDict) {
      const entries: Array<{ key: string | number; value: Structure }> = [];
      for (const [k, item] of v) {
        const key = typeof k === "string" || (typeof k === "number" && Number.isInteger(k)) ? k : undefined;
        if (key === undefined) {
          this.warnings.push(`${name || "<root>"}: skipped a dict entry with a ${describeValue(k)} key`);
          continue;
        }
        entries.push({ key: typeof key === "string" ? this.guard.text(key) : key, value: this.walk(item, joinName(name, key)) });
      }
      return v.ordered ? { type: "dict", ordered: true, entries } : { type: "dict", entries };
    }
    if (Array.isArray(v)) return { type: "list", items: v.map((x, i) => this.walk(x, joinName(name, i))) };
    if (v instanceof PickleTuple) return { type: "tuple", items: v.items.map((x, i) => this.walk(x, joinName(name, i))) };
    return { type: "value", value: this.jsonValue(v, name) };
  }

  private jsonValue(v: PickleValue, name: string): JsonValue {
    if (typeof v === "string") return this.guard.text(v);
    if (v === null || typeof v === "boolean") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
    if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (v instanceof PyFloat) return Number.isFinite(v.value) ? v.value : String(v.value);
    if (v instanceof NumpyScalar) {
      const s = numpyScalarJson(v.dtype.typestr, v.dtype.byteorder === ">", v.data);
      if (s !== undefined) return s;
    }
    this.warnings.push(`${name || "<root>"}: kept a ${describeValue(v)} as null`);
    return null;
  }
}

/** For meta, a `(name, ndarray)` tuple is a tensor (so it vanishes) rather than a list with a name in it. */
function withoutTensorTuples(s: Structure): Structure {
  switch (s.type) {
    case "tuple":
      if (s.items.length === 2 && s.items[0]!.type === "value" && s.items[1]!.type === "tensor") return s.items[1]!;
      return { type: "tuple", items: s.items.map(withoutTensorTuples) };
    case "list":
      return { type: "list", items: s.items.map(withoutTensorTuples) };
    case "dict":
      return { ...s, entries: s.entries.map((e) => ({ key: e.key, value: withoutTensorTuples(e.value) })) };
    default:
      return s;
  }
}
