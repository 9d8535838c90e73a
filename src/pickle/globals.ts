/**
 * The known-constructor table. A GLOBAL resolves to a typed value (storage classes, dtypes) or a
 * PickleGlobal reference; REDUCE/NEWOBJ on a reference looks it up here. Builders are pure data
 * transformations of their arguments: nothing is imported or called, ever.
 */
import type { ErrorCode } from "../errors.js";
import { canonicalModule, storageClassDtype, torchDtypeName, torchDtypeToIR } from "./global-names.js";
import { encodeUtf8, stringToLatin1 } from "./strings.js";
import { NumpyArray, NumpyDtype, NumpyScalar, TorchDevice, TorchDtype, TorchParameter, TorchStorageType, TorchTensorRef, type TensorRebuild } from "./typed.js";
import {
  LazyBytes,
  LazyText,
  PickleDict,
  PickleGlobal,
  PickleObject,
  PickleSet,
  PickleTuple,
  PyByteArray,
  PyComplex,
  PyFloat,
  describeValue,
  intOf,
  sequenceItems,
  type PickleValue,
} from "./values.js";

/** What builders may ask of the unpickler. */
export interface BuildContext {
  /** Throws a WeightbridgeError located at the current opcode. */
  fail(code: ErrorCode, message: string): never;
  /** Accounts for work proportional to `units` (bounds total work by input size). */
  charge(units: number): void;
  /** REDUCE semantics, for builders that call another callable (`_rebuild_from_type_v2`). */
  call(callee: PickleValue, args: PickleValue[]): PickleValue;
  /** `cls.__new__(cls, *args)` of a class the table does not model: an inert record. */
  instance(cls: PickleGlobal, args: PickleValue[]): PickleObject;
  /** Marks the global behind `value` dangerous: the pickle uses it in a way only running code serves. */
  flag(value: PickleValue | undefined, reason: string): void;
}

type Builder = (args: PickleValue[], ctx: BuildContext, what: string) => PickleValue;

interface Known {
  call: Builder;
  /** NEWOBJ (cls.__new__(cls, *args)) produces the same value as calling. */
  newobj?: boolean;
}

/** What a GLOBAL pushes: a typed value for dtype objects and storage classes, else a reference. */
export function resolveGlobal(module: string, name: string): PickleValue {
  const mod = canonicalModule(module);
  const storageDtype = storageClassDtype(mod, name);
  if (storageDtype !== undefined) return new TorchStorageType(mod, name, torchDtypeToIR(storageDtype), storageDtype);
  if (mod === "torch") {
    const dtypeName = torchDtypeName(name);
    if (dtypeName !== undefined) return new TorchDtype(dtypeName, torchDtypeToIR(dtypeName));
  }
  return new PickleGlobal(mod, name);
}

export function isKnownGlobal(module: string, name: string): boolean {
  const mod = canonicalModule(module);
  return (
    KNOWN.has(`${mod}.${name}`) ||
    storageClassDtype(mod, name) !== undefined ||
    (mod === "torch" && torchDtypeName(name) !== undefined) ||
    KNOWN_CLASSES.has(`${mod}.${name}`)
  );
}

export function knownConstructor(g: PickleGlobal): Known | undefined {
  return KNOWN.get(`${g.module}.${g.name}`);
}

// ---- argument helpers ---------------------------------------------------------------------------

function arity(args: PickleValue[], ctx: BuildContext, what: string, min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : `${min}–${max}`;
    ctx.fail("corrupt", `${what} takes ${expected} arguments, pickle passes ${args.length}`);
  }
}

function intArg(v: PickleValue, ctx: BuildContext, what: string): number {
  const n = intOf(v);
  if (n === undefined) ctx.fail("corrupt", `${what} expects an int, pickle passes ${describeValue(v)}`);
  return n;
}

function intsArg(v: PickleValue, ctx: BuildContext, what: string): number[] {
  const items = sequenceItems(v);
  if (!items) ctx.fail("corrupt", `${what} expects a tuple of ints, pickle passes ${describeValue(v)}`);
  ctx.charge(items.length);
  return items.map((x) => intArg(x, ctx, what));
}

function boolArg(v: PickleValue, ctx: BuildContext, what: string): boolean {
  if (typeof v === "boolean") return v;
  const n = intOf(v);
  if (n === undefined) ctx.fail("corrupt", `${what} expects a bool, pickle passes ${describeValue(v)}`);
  return n !== 0;
}

function numberArg(v: PickleValue, ctx: BuildContext, what: string): number {
  if (typeof v === "number") return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint" || typeof v === "boolean") return Number(v);
  return ctx.fail("corrupt", `${what} expects a number, pickle passes ${describeValue(v)}`);
}

/** bytes, or a latin-1 str standing for bytes (py2 str read with encoding='latin1'). */
export function bytesArg(v: PickleValue, ctx: BuildContext, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof LazyBytes) {
    return ctx.fail("unsupported", `${what} needs its ${v.length} bytes in memory, but they were left unread in the file (lazy bytes)`);
  }
  if (v instanceof PyByteArray) return v.bytes;
  if (typeof v === "string") {
    ctx.charge(v.length);
    const b = stringToLatin1(v);
    if (b) return b;
  }
  return ctx.fail("corrupt", `${what} expects bytes, pickle passes ${describeValue(v)}`);
}

/** An array's element bytes: like bytesArg, but a payload left in the file stays a LazyBytes range. */
export function arrayDataArg(v: PickleValue, ctx: BuildContext, what: string): Uint8Array | LazyBytes {
  return v instanceof LazyBytes ? v : bytesArg(v, ctx, what);
}

function iterableItems(v: PickleValue, ctx: BuildContext, what: string): PickleValue[] {
  const items = sequenceItems(v) ?? (v instanceof PickleSet ? v.items : v instanceof PickleDict ? [...v.keys()] : undefined);
  if (!items) ctx.fail("corrupt", `${what} expects an iterable, pickle passes ${describeValue(v)}`);
  ctx.charge(items.length);
  return [...items];
}

function pairsToDict(v: PickleValue | undefined, ordered: boolean, ctx: BuildContext, what: string): PickleDict {
  const d = new PickleDict(undefined, ordered);
  if (v === undefined) return d;
  if (v instanceof PickleDict) {
    ctx.charge(v.size);
    for (const [k, x] of v) d.set(k, x);
    return d;
  }
  for (const pair of iterableItems(v, ctx, what)) {
    const kv = sequenceItems(pair);
    if (!kv || kv.length !== 2) ctx.fail("corrupt", `${what} expects (key, value) pairs`);
    d.set(kv[0]!, kv[1]!);
  }
  return d;
}

// ---- builders -----------------------------------------------------------------------------------

const LATIN1_NAMES = ["latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"];
const ASCII_NAMES = ["ascii", "us-ascii"];

function encodeText(args: PickleValue[], ctx: BuildContext, what: string): Uint8Array | LazyBytes {
  arity(args, ctx, what, 1, 3);
  const [text, encoding = "utf-8"] = args;
  if (typeof encoding !== "string") ctx.fail("corrupt", `${what} expects an encoding name`);
  const enc = encoding.toLowerCase().replace(/_/g, "-");
  if (text instanceof LazyText) {
    // Still unread: the bytes are the text's characters (latin-1) or its UTF-8 itself.
    if (LATIN1_NAMES.includes(enc)) return new LazyBytes(text.offset, text.length, false, true);
    if (enc === "utf-8" || enc === "utf8") return new LazyBytes(text.offset, text.length);
    return ctx.fail("unsupported", `${what} with encoding '${encoding}'`);
  }
  if (typeof text !== "string") ctx.fail("corrupt", `${what} expects a str, pickle passes ${describeValue(text)}`);
  ctx.charge(text.length);
  if (LATIN1_NAMES.includes(enc) || ASCII_NAMES.includes(enc)) {
    const b = stringToLatin1(text);
    if (!b || (ASCII_NAMES.includes(enc) && b.some((x) => x > 0x7f))) {
      ctx.fail("corrupt", `${what}: text has characters outside ${encoding}`);
    }
    return b;
  }
  if (enc === "utf-8" || enc === "utf8") return encodeUtf8(text);
  return ctx.fail("unsupported", `${what} with encoding '${encoding}'`);
}

function makeBytes(args: PickleValue[], ctx: BuildContext, what: string): Uint8Array | LazyBytes {
  if (args.length === 0) return new Uint8Array(0);
  if (args.length >= 2) return encodeText(args, ctx, what);
  const [v] = args;
  if (v instanceof Uint8Array || v instanceof PyByteArray || v instanceof LazyBytes) return bytesArg(v, ctx, what).slice();
  const n = intOf(v as PickleValue);
  if (n !== undefined) {
    if (n < 0) ctx.fail("corrupt", `${what}: negative size`);
    ctx.charge(n);
    return new Uint8Array(n);
  }
  const items = iterableItems(v!, ctx, what).map((x) => intArg(x, ctx, what));
  if (items.some((x) => x < 0 || x > 255)) ctx.fail("corrupt", `${what}: byte value out of range`);
  return Uint8Array.from(items);
}

function rebuildTensor(kind: TensorRebuild): Builder {
  return (args: PickleValue[], ctx: BuildContext, what: string) => {
    if (kind === "_rebuild_tensor") arity(args, ctx, what, 4);
    else if (kind === "_rebuild_tensor_v2") arity(args, ctx, what, 6, 7);
    else arity(args, ctx, what, 7, 8);
    const offset = intArg(args[1]!, ctx, `${what} storage_offset`);
    const shape = intsArg(args[2]!, ctx, `${what} size`);
    const stride = intsArg(args[3]!, ctx, `${what} stride`);
    if (shape.length !== stride.length) ctx.fail("corrupt", `${what}: size has ${shape.length} dims, stride ${stride.length}`);
    if (offset < 0 || shape.some((d) => d < 0)) ctx.fail("corrupt", `${what}: negative offset or size`);
    if (kind === "_rebuild_tensor") return new TorchTensorRef(args[0]!, offset, shape, stride, false, kind);
    const requiresGrad = boolArg(args[4]!, ctx, `${what} requires_grad`);
    if (kind === "_rebuild_tensor_v2") return new TorchTensorRef(args[0]!, offset, shape, stride, requiresGrad, kind, undefined, args[5]!, args[6]);
    const dtype = args[6];
    if (!(dtype instanceof TorchDtype)) ctx.fail("corrupt", `${what} expects a torch dtype, pickle passes ${describeValue(dtype)}`);
    return new TorchTensorRef(args[0]!, offset, shape, stride, requiresGrad, kind, dtype, args[5]!, args[7]);
  };
}

function reconstructArray(module: string): Builder {
  return (args: PickleValue[], ctx: BuildContext, what: string) => {
    arity(args, ctx, what, 3);
    return new NumpyArray(module);
  };
}

/** numpy protocol-5 reduction: `_frombuffer(buffer, dtype, shape, order)`. */
function fromBuffer(module: string): Builder {
  return (args: PickleValue[], ctx: BuildContext, what: string) => {
    arity(args, ctx, what, 4);
    const [buf, dtype, shape, order] = args;
    if (!(dtype instanceof NumpyDtype)) ctx.fail("corrupt", `${what} expects a numpy dtype`);
    const a = new NumpyArray(module);
    a.data = arrayDataArg(buf!, ctx, what);
    a.dtype = dtype;
    a.shape = intsArg(shape!, ctx, what);
    a.fortranOrder = order === "F";
    a.built = true;
    return a;
  };
}

function numpyScalar(module: string): Builder {
  return (args: PickleValue[], ctx: BuildContext, what: string) => {
    arity(args, ctx, what, 1, 2);
    const [dtype, data] = args;
    if (!(dtype instanceof NumpyDtype)) ctx.fail("corrupt", `${what} expects a numpy dtype`);
    if (data === undefined) return new PickleObject(module, "scalar", args);
    return new NumpyScalar(dtype, bytesArg(data, ctx, what), module);
  };
}

function device(args: PickleValue[], ctx: BuildContext, what: string): TorchDevice {
  arity(args, ctx, what, 1, 2);
  const [type, index] = args;
  if (typeof type !== "string") ctx.fail("corrupt", `${what} expects a device string`);
  if (index !== undefined && index !== null) return new TorchDevice(type, intArg(index, ctx, what));
  const m = /^(\w+):(\d+)$/.exec(type);
  return m ? new TorchDevice(m[1]!, Number(m[2])) : new TorchDevice(type, null);
}

const identity: Builder = (args: PickleValue[], ctx: BuildContext, what: string) => {
  arity(args, ctx, what, 1, 2);
  return args[0]!;
};

const opaque =
  (module: string, name: string): Builder =>
  (args) =>
    new PickleObject(module, name, args);

const KNOWN = new Map<string, Known>();

function known(names: string[], call: Builder, newobj = false): void {
  for (const n of names) KNOWN.set(n, { call, newobj });
}

known(["collections.OrderedDict"], (args: PickleValue[], ctx: BuildContext, what: string) => pairsToDict(args[0], true, ctx, what), true);
known(["builtins.dict"], (args: PickleValue[], ctx: BuildContext, what: string) => pairsToDict(args[0], false, ctx, what), true);
known(["builtins.list"], (args: PickleValue[], ctx: BuildContext, what: string) => (args.length ? iterableItems(args[0]!, ctx, what) : []), true);
known(
  ["builtins.tuple"],
  (args: PickleValue[], ctx: BuildContext, what: string) => new PickleTuple(args.length ? iterableItems(args[0]!, ctx, what) : []),
  true,
);
known(["builtins.set"], (args: PickleValue[], ctx: BuildContext, what: string) => new PickleSet(args.length ? iterableItems(args[0]!, ctx, what) : []), true);
known(
  ["builtins.frozenset"],
  (args: PickleValue[], ctx: BuildContext, what: string) => new PickleSet(args.length ? iterableItems(args[0]!, ctx, what) : [], true),
  true,
);
known(["builtins.bytes"], makeBytes, true);
known(["builtins.bytearray"], (args: PickleValue[], ctx: BuildContext, what: string) => new PyByteArray(bytesArg(makeBytes(args, ctx, what), ctx, what)), true);
known(["builtins.complex"], (args: PickleValue[], ctx: BuildContext, what: string) => {
  arity(args, ctx, what, 0, 2);
  return new PyComplex(args[0] === undefined ? 0 : numberArg(args[0], ctx, what), args[1] === undefined ? 0 : numberArg(args[1], ctx, what));
});
known(["_codecs.encode"], encodeText);
/** Bases whose `__new__`/`__init__` copyreg._reconstructor may call: plain builtin types, no code of their own. */
const PLAIN_BASES = new Set([
  "builtins.object",
  "builtins.dict",
  "builtins.list",
  "builtins.tuple",
  "builtins.set",
  "builtins.frozenset",
  "builtins.int",
  "builtins.float",
  "builtins.str",
  "builtins.bytes",
  "builtins.bytearray",
]);
// _reconstructor(cls, base, state) is `base.__new__(cls, state)` (+ `base.__init__`): the class is
// only rebuilt, but any base other than a plain builtin type is a call of that base.
known(["copyreg._reconstructor"], (args: PickleValue[], ctx: BuildContext, what: string) => {
  arity(args, ctx, what, 3);
  const [cls, base, state] = args;
  if (!(cls instanceof PickleGlobal)) ctx.fail("corrupt", `${what} expects a class`);
  if (!(base instanceof PickleGlobal && PLAIN_BASES.has(base.qualifiedName))) {
    ctx.flag(base, `${what} calls it as the base class's __new__/__init__`);
  }
  return ctx.instance(cls, state === null ? [] : [state!]);
});
known(["copyreg.__newobj__"], (args: PickleValue[], ctx: BuildContext, what: string) => {
  const [cls, ...rest] = args;
  if (!(cls instanceof PickleGlobal)) ctx.fail("corrupt", `${what} expects a class`);
  return ctx.instance(cls, rest);
});

known(["torch._utils._rebuild_tensor"], rebuildTensor("_rebuild_tensor"));
known(["torch._utils._rebuild_tensor_v2"], rebuildTensor("_rebuild_tensor_v2"));
known(["torch._utils._rebuild_tensor_v3"], rebuildTensor("_rebuild_tensor_v3"));
known(["torch._utils._rebuild_parameter"], (args: PickleValue[], ctx: BuildContext, what: string) => {
  arity(args, ctx, what, 3);
  return new TorchParameter(args[0]!, boolArg(args[1]!, ctx, what), args[2]!);
});
known(["torch._utils._rebuild_parameter_with_state"], (args: PickleValue[], ctx: BuildContext, what: string) => {
  arity(args, ctx, what, 4);
  return new TorchParameter(args[0]!, boolArg(args[1]!, ctx, what), args[2]!, args[3]!);
});
// Pre-1.0 torch pickled parameters as `Parameter(tensor[, requires_grad])`, then BUILD (requires_grad, volatile, hooks).
known(
  ["torch.nn.parameter.Parameter"],
  (args: PickleValue[], ctx: BuildContext, what: string) => {
    arity(args, ctx, what, 0, 2);
    return new TorchParameter(args[0] ?? null, args.length > 1 ? boolArg(args[1]!, ctx, what) : true);
  },
  true,
);
known(["torch._tensor._rebuild_from_type_v2"], (args: PickleValue[], ctx: BuildContext, what: string) => {
  arity(args, ctx, what, 4);
  const [func, , inner, state] = args;
  const innerArgs = sequenceItems(inner!);
  if (!innerArgs) ctx.fail("corrupt", `${what} expects an argument tuple`);
  const result = ctx.call(func!, innerArgs);
  if (result instanceof TorchTensorRef && state !== null && !(state instanceof PickleDict && state.size === 0)) result.state = state;
  return result;
});
for (const name of [
  "_rebuild_qtensor",
  "_rebuild_sparse_tensor",
  "_rebuild_sparse_csr_tensor",
  "_rebuild_meta_tensor_no_storage",
  "_rebuild_device_tensor_from_numpy",
  "_rebuild_xla_tensor",
  "_rebuild_device_tensor_from_cpu_tensor",
  "_rebuild_wrapper_subclass",
  "_rebuild_nested_tensor",
  "_rebuild_mlc_tensor",
]) {
  known([`torch._utils.${name}`], opaque("torch._utils", name));
}
// torch ≤ 0.4 modules pickled their `_backend` as the result of this argument-less lookup.
known(["torch.nn.backends.thnn._get_thnn_function_backend"], opaque("torch.nn.backends.thnn", "_get_thnn_function_backend"));
// Plain data that training checkpoints keep in their hyper-parameters and logs: building one
// touches nothing (a path object is only a name, a datetime only numbers).
for (const [module, names] of [
  ["pathlib", ["Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"]],
  ["datetime", ["datetime", "date", "time", "timedelta", "timezone"]],
] as const) {
  for (const name of names) known([`${module}.${name}`], opaque(module, name));
}
known(
  ["torch.Size"],
  (args: PickleValue[], ctx: BuildContext, what: string) => {
    arity(args, ctx, what, 0, 1);
    return new PickleTuple(args.length ? iterableItems(args[0]!, ctx, what) : []);
  },
  true,
);
known(["torch.device"], device);
known(
  [
    "torch.jit._pickle.build_intlist",
    "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist",
    "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.build_genericlist",
    "torch.jit._pickle.build_complexlist",
    "torch.jit._pickle.restore_type_tag",
    "torch.jit._pickle.build_tensor_from_id",
  ],
  identity,
);

for (const core of ["numpy.core", "numpy._core"]) {
  known([`${core}.multiarray._reconstruct`], reconstructArray(`${core}.multiarray`));
  known([`${core}.multiarray.scalar`], numpyScalar(`${core}.multiarray`));
  known([`${core}.numeric._frombuffer`], fromBuffer(`${core}.multiarray`));
}
known(["numpy.dtype"], (args: PickleValue[], ctx: BuildContext, what: string) => {
  arity(args, ctx, what, 1, 3);
  const [typestr] = args;
  if (typeof typestr !== "string") ctx.fail("corrupt", `${what} expects a type string, pickle passes ${describeValue(typestr)}`);
  return new NumpyDtype(typestr);
});

/** Known classes that only appear as references (arguments of known builders). */
const KNOWN_CLASSES = new Set([
  "numpy.ndarray",
  "builtins.object",
  "torch.Tensor",
  "torch._tensor.Tensor",
  "torch.serialization._get_layout",
  "collections.defaultdict",
  "collections.Counter",
  // joblib.dump's placeholder for an array whose bytes follow in the stream (./joblib.ts).
  "joblib.numpy_pickle.NumpyArrayWrapper",
]);
