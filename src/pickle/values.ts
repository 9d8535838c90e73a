/**
 * The inert value model the unpickler produces and the pickler consumes. Nothing here can run
 * code: Python objects become plain records that say what they were built from.
 *
 *   None → null, bool → boolean, int → number (bigint beyond 2^53), float → number (or PyFloat
 *   when asked to keep floats apart from ints), str → string, bytes → Uint8Array, list → array,
 *   tuple → PickleTuple, dict / OrderedDict → PickleDict, set / frozenset → PickleSet.
 * Known constructors produce the typed records of ./typed.ts; anything else a PickleObject stub.
 */
import type {
  NumpyArray,
  NumpyDtype,
  NumpyScalar,
  TorchDevice,
  TorchDtype,
  TorchParameter,
  TorchStorageRef,
  TorchStorageType,
  TorchTensorRef,
} from "./typed.js";

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | LazyBytes
  | LazyText
  | PickleValue[]
  | PyFloat
  | PickleTuple
  | PickleDict
  | PickleSet
  | PyByteArray
  | PyComplex
  | PickleGlobal
  | PickleObject
  | PersistentRef
  | TorchStorageType
  | TorchStorageRef
  | TorchTensorRef
  | TorchParameter
  | TorchDtype
  | TorchDevice
  | NumpyArray
  | NumpyDtype
  | NumpyScalar
  | DictStream;

/** A Python float kept distinct from int (only produced with `preserveFloats`; always written as a float). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python tuple. Kept apart from lists because writers must reproduce the difference. */
export class PickleTuple {
  constructor(readonly items: PickleValue[]) {}
  get length(): number {
    return this.items.length;
  }
}

/**
 * A Python dict or collections.OrderedDict, in insertion order. Keys keep their Python type:
 * 0 (int) and "0" (str) are different keys, as in Python. Tuple keys compare by identity.
 */
export class PickleDict extends Map<PickleValue, PickleValue> {
  /** True for collections.OrderedDict. */
  ordered: boolean;
  /** Attributes set on the dict object itself by BUILD (a state dict's `_metadata`). */
  attributes: PickleDict | undefined;

  constructor(entries?: Iterable<readonly [PickleValue, PickleValue]>, ordered = false) {
    super(entries);
    this.ordered = ordered;
    this.attributes = undefined;
  }
}

/**
 * A dict (or OrderedDict) for the pickler only, whose entries are made as it writes them: a state
 * dict of 10^6 tensors is then never 10^6 pickle values at once (each entry is made, written and
 * dropped). The unpickler never produces one.
 */
export class DictStream {
  constructor(
    readonly entries: () => Iterable<readonly [PickleValue, PickleValue]>,
    readonly ordered: boolean,
  ) {}
}

/** A Python set or frozenset (items in pickle order; no hashing, duplicates are kept as written). */
export class PickleSet {
  constructor(
    readonly items: PickleValue[],
    readonly frozen = false,
  ) {}
}

/**
 * A bytes (or bytearray) payload the unpickler stepped over instead of reading: `length` bytes at
 * `offset` of its input. Only produced when asked (UnpickleOptions.lazyBytesOver); consumers that
 * need the bytes in memory refuse it with an 'unsupported' error.
 */
export class LazyBytes {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly bytearray = false,
    /**
     * The range holds UTF-8 text whose characters are the bytes (protocol 2 pickles bytes as
     * `_codecs.encode(str, 'latin1')`): each byte is 1 or 2 bytes of text, decoded when read.
     */
    readonly latin1Text = false,
  ) {}
}

/**
 * A str the unpickler left unread (`length` bytes of UTF-8 at `offset` of the input). Only the
 * text argument of `_codecs.encode` is left so, which turns it into LazyBytes.
 */
export class LazyText {
  constructor(
    readonly offset: number,
    readonly length: number,
  ) {}
}

export class PyByteArray {
  constructor(readonly bytes: Uint8Array) {}
}

export class PyComplex {
  constructor(
    readonly real: number,
    readonly imag: number,
  ) {}
}

/** A reference to a module attribute (class or function) that was pushed but never called. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** How a stub object came to be: REDUCE (cls(*args)), NEWOBJ (cls.__new__(cls, *args)), ... */
export type ObjectOrigin = "reduce" | "newobj" | "newobj_ex" | "inst" | "obj";

/**
 * An object of a class the unpickler does not model (`__main__.Net`, `__torch__.Model`,
 * `torch.nn.modules.conv.Conv2d`): a record of the class name, constructor arguments and state.
 */
export class PickleObject {
  /** The raw argument of the last BUILD, if any. */
  state: PickleValue | undefined = undefined;
  /** Attributes from BUILD states that are dicts (or `(dict, slotsdict)` tuples), merged in order. */
  attrs: PickleDict | undefined = undefined;
  /** Items added by APPEND(S) (list subclasses). */
  listItems: PickleValue[] | undefined = undefined;
  /** Items added by SETITEM(S) (dict subclasses such as defaultdict or Lightning's AttributeDict). */
  dictItems: PickleDict | undefined = undefined;
  /** Keyword arguments (NEWOBJ_EX). */
  kwargs: PickleDict | undefined = undefined;

  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: PickleValue[] = [],
    readonly origin: ObjectOrigin = "reduce",
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }

  /** An attribute set by BUILD, or undefined. */
  attr(name: string): PickleValue | undefined {
    return this.attrs?.get(name);
  }
}

/** What BINPERSID/PERSID produced when no `persistentLoad` recognised the id. */
export class PersistentRef {
  constructor(readonly pid: PickleValue) {}
}

// ---- small helpers for consumers walking values -------------------------------------------------

export function isTuple(v: unknown): v is PickleTuple {
  return v instanceof PickleTuple;
}

export function isDict(v: unknown): v is PickleDict {
  return v instanceof PickleDict;
}

/** Items of a list or tuple, else undefined. */
export function sequenceItems(v: PickleValue | undefined): PickleValue[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof PickleTuple) return v.items;
  return undefined;
}

/** The dict view of a value: a dict itself, or the items of a dict-subclass stub. */
export function dictOf(v: PickleValue | undefined): PickleDict | undefined {
  if (v instanceof PickleDict) return v;
  if (v instanceof PickleObject) return v.dictItems;
  return undefined;
}

/** A Python int as a JS number when it is one (bigints that fit are converted), else undefined. */
export function intOf(v: PickleValue | undefined): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return undefined;
}

/** A short human description of a value's Python type, for error messages. */
export function describeValue(v: PickleValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof LazyBytes) return v.bytearray ? "bytearray" : "bytes";
  if (v instanceof LazyText) return "str";
  if (Array.isArray(v)) return "list";
  if (v instanceof PickleTuple) return "tuple";
  if (v instanceof PickleDict || v instanceof DictStream) return v.ordered ? "OrderedDict" : "dict";
  if (v instanceof PickleSet) return v.frozen ? "frozenset" : "set";
  if (v instanceof PickleGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof PickleObject) return `${v.qualifiedName} object`;
  return v.constructor.name;
}
