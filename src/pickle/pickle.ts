/**
 * A pickler for the value model, following CPython's protocol 2–4 encoding choices: ints as
 * BININT1/BININT2/BININT/LONG1, containers memoised (BINPUT, LONG_BINPUT past 255, MEMOIZE at 4)
 * and filled in batches of ≤1000, repeats as BINGET, bytes via `_codecs.encode` below protocol 3.
 * `restrictTo: "torch-1.13"` refuses anything torch 1.13's weights_only loader rejects.
 */
import { WeightbridgeError } from "../errors.js";
import { ByteWriter } from "../util/byte-writer.js";
import { turnIfDue } from "../util/event-loop.js";
import { orderedDict } from "./make.js";
import { protocol2Module, storageClassDtype } from "./global-names.js";
import { OP } from "./opcodes.js";
import { encodeUtf8, latin1ToString } from "./strings.js";
import { NumpyArray, NumpyDtype, NumpyScalar, TorchDevice, TorchDtype, TorchParameter, TorchStorageRef, TorchStorageType, TorchTensorRef } from "./typed.js";
import {
  DictStream,
  LazyBytes,
  PersistentRef,
  PickleDict,
  PickleGlobal,
  PickleObject,
  PickleSet,
  PickleTuple,
  PyByteArray,
  PyComplex,
  PyFloat,
  describeValue,
  type PickleValue,
} from "./values.js";

export interface PickleOptions {
  /** 2 (torch.save's default, the default here), 3 or 4 (paddle.save's default). */
  protocol?: 2 | 3 | 4;
  /** Returns a persistent id for values stored outside the pickle (BINPERSID), or undefined. */
  persistentId?: (v: PickleValue) => PickleValue | undefined;
  /** Refuse values torch 1.13 `weights_only=True` cannot load (floats, bytes, sets, globals off its list). */
  restrictTo?: "torch-1.13";
  /** Protocol 4: wrap the body in one FRAME, as CPython does (default false). */
  frame?: boolean;
  /** Maximum nesting depth before giving up (default 2000). */
  maxDepth?: number;
}

const BATCH = 1000;

/** Pickles a value into one byte array. */
export function pickle(value: PickleValue, options: PickleOptions = {}): Uint8Array {
  return new Pickler(options).run(value).result();
}

/** Pickles a value into chunks; large bytes payloads are passed through without copying. */
export function pickleChunks(value: PickleValue, options: PickleOptions = {}): Uint8Array[] {
  return new Pickler(options).run(value).chunks();
}

/**
 * Like pickleChunks, for values with big containers (a state dict of 10^6 tensors, often a
 * DictStream): between their items the event loop gets a turn now and then (`pause`), so a signal
 * (Ctrl-C, SIGTERM) is served while pickling instead of after it.
 */
export async function pickleChunksPausing(
  value: PickleValue,
  options: Omit<PickleOptions, "frame"> = {},
  pause: () => Promise<void> | undefined = turnIfDue,
): Promise<Uint8Array[]> {
  const pickler = new Pickler(options);
  pickler.start();
  const later = pickler.saveSoon(value, pause);
  if (later) await later;
  return pickler.stop().chunks();
}

/** Bytes a pickle handed on as it is made gathers before they go (few, large writes). */
const HAND_ON_AT = 1 << 20;

/**
 * Like pickleChunksPausing, handing the bytes to `write` as they are made, in order, by ~1 MiB:
 * the ~100 MB pickle of a 10^6-tensor state dict is never held whole.
 */
export async function picklePausingTo(
  value: PickleValue,
  options: Omit<PickleOptions, "frame">,
  write: (chunk: Uint8Array) => Promise<void>,
  pause: () => Promise<void> | undefined = turnIfDue,
): Promise<void> {
  const pickler = new Pickler(options);
  pickler.start();
  pickler.handOn = async (least) => {
    if (pickler.length < least) return;
    for (const chunk of pickler.take()) await write(chunk);
  };
  const later = pickler.saveSoon(value, pause);
  if (later) await later;
  pickler.stop();
  await pickler.handOn(0);
}

/** Globals torch 1.13's `_weights_only_unpickler` accepts (storage classes are checked separately). */
const TORCH_113_GLOBALS = new Set([
  "collections.OrderedDict",
  "torch.nn.parameter.Parameter",
  "torch.serialization._get_layout",
  "torch.Size",
  "torch.Tensor",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_sparse_tensor",
  "torch._utils._rebuild_meta_tensor_no_storage",
  "torch._utils._rebuild_sparse_csr_tensor",
  ...["complex32", "complex64", "complex128", "float16", "float32", "float64", "int8", "int16", "int32", "int64"].map((d) => `torch.${d}`),
]);
const TORCH_113_STORAGE_DTYPES = new Set([
  "float64",
  "float32",
  "float16",
  "bfloat16",
  "int64",
  "int32",
  "int16",
  "int8",
  "uint8",
  "bool",
  "complex64",
  "complex128",
  "qint8",
  "quint8",
  "qint32",
  "quint4x2",
  "untyped",
]);

class Pickler {
  private readonly out = new ByteWriter();
  // Objects by identity, weakly: a value made while pickling (a tensor's tuples) and written once
  // is not kept alive by the memo (10^6 tensors held ~0.5 KiB each that way).
  private readonly memo = new WeakMap<object, number>();
  private readonly stringMemo = new Map<string, number>();
  private readonly globalMemo = new Map<string, number>();
  private nextMemo = 0;
  private readonly protocol: 2 | 3 | 4;
  private readonly path: (string | number)[] = [];
  private readonly maxDepth: number;

  /** Set by picklePausingTo: hands on the bytes made so far when they are at least `least` bytes. */
  handOn?: (least: number) => Promise<void>;

  constructor(private readonly options: PickleOptions) {
    this.protocol = options.protocol ?? 2;
    if (![2, 3, 4].includes(this.protocol)) throw new WeightbridgeError("usage", `pickle protocol ${this.protocol} (use 2, 3 or 4)`);
    if (options.restrictTo === "torch-1.13" && this.protocol !== 2) {
      throw new WeightbridgeError("usage", "torch 1.13 weights_only loading needs pickle protocol 2");
    }
    this.maxDepth = options.maxDepth ?? 2000;
  }

  run(value: PickleValue): ByteWriter {
    const o = this.start();
    if (this.protocol >= 4 && this.options.frame) {
      const body = new Pickler({ ...this.options, frame: false }).run(value).chunks();
      const bodyLength = body.reduce((n, c) => n + c.length, 0) - 2; // without the nested PROTO
      o.u8(OP.FRAME);
      o.u64(bodyLength);
      body.forEach((c, i) => o.bytes(i === 0 ? c.subarray(2) : c));
      return o;
    }
    this.save(value, true);
    return this.stop();
  }

  start(): ByteWriter {
    this.out.u8(OP.PROTO);
    this.out.u8(this.protocol);
    return this.out;
  }

  stop(): ByteWriter {
    return this.out.u8(OP.STOP);
  }

  get length(): number {
    return this.out.length;
  }

  take(): Uint8Array[] {
    return this.out.take();
  }

  // ---- errors and restrictions --------------------------------------------------------------------

  private where(): string {
    return this.path.length ? ` (at ${this.path.join(".")})` : "";
  }

  private refuse113(what: string): void {
    if (this.options.restrictTo === "torch-1.13") {
      throw new WeightbridgeError("unsupported", `torch 1.13 weights_only loading cannot read ${what}${this.where()}`);
    }
  }

  private within<T>(segment: string | number, f: () => T): T {
    this.path.push(segment);
    if (this.path.length > this.maxDepth) throw new WeightbridgeError("unsupported", `value nests deeper than ${this.maxDepth} levels${this.where()}`);
    try {
      return f();
    } finally {
      this.path.pop();
    }
  }

  // ---- memo ----------------------------------------------------------------------------------------

  /** Memoizes `key`; a value made here (no key) can never be met again, so only its index is taken. */
  private memoize(key: object | string | undefined): void {
    const index = this.nextMemo++;
    if (typeof key === "string") this.stringMemo.set(key, index);
    else if (key !== undefined) this.memo.set(key, index);
    this.put(index);
  }

  private memoized(v: PickleValue): number | undefined {
    if (typeof v === "string") return this.stringMemo.get(v);
    return typeof v === "object" && v !== null ? this.memo.get(v) : undefined;
  }

  private put(index: number): void {
    const o = this.out;
    if (this.protocol >= 4) o.u8(OP.MEMOIZE);
    else if (index < 256) {
      o.u8(OP.BINPUT);
      o.u8(index);
    } else {
      o.u8(OP.LONG_BINPUT);
      o.u32(index);
    }
  }

  private get(index: number): void {
    if (index < 256) {
      this.out.u8(OP.BINGET);
      this.out.u8(index);
    } else {
      this.out.u8(OP.LONG_BINGET);
      this.out.u32(index);
    }
  }

  // ---- dispatch ------------------------------------------------------------------------------------

  private save(v: PickleValue, allowPersistentId = true): void {
    if (allowPersistentId && this.options.persistentId) {
      const pid = this.options.persistentId(v);
      if (pid !== undefined) {
        this.save(pid, false);
        this.out.u8(OP.BINPERSID);
        return;
      }
    }
    const index = this.memoized(v);
    if (index !== undefined) return this.get(index);
    if (v === null) return void this.out.u8(OP.NONE);
    if (typeof v === "boolean") return void this.out.u8(v ? OP.NEWTRUE : OP.NEWFALSE);
    if (typeof v === "bigint") return this.saveInt(v);
    if (typeof v === "number") {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return this.saveInt(v);
      return this.saveFloat(v);
    }
    if (typeof v === "string") return this.saveString(v);
    if (v instanceof PyFloat) return this.saveFloat(v.value);
    if (v instanceof Uint8Array) return this.saveBytes(v);
    if (v instanceof LazyBytes) {
      throw new WeightbridgeError("usage", `cannot pickle ${v.length} bytes that were left unread in the source file (lazy bytes)${this.where()}`);
    }
    if (Array.isArray(v)) return this.saveList(v);
    if (v instanceof PickleTuple) return this.saveTuple(v.items, v);
    if (v instanceof PickleDict || v instanceof DictStream) return this.saveDict(v);
    if (v instanceof PickleSet) return this.saveSet(v);
    if (v instanceof PickleGlobal) return this.saveGlobal(v.module, v.name);
    if (v instanceof PickleObject) return this.saveObject(v);
    if (v instanceof TorchStorageType) return this.saveGlobal(v.module, v.name);
    if (v instanceof TorchDtype) return this.saveGlobal("torch", v.name);
    if (v instanceof TorchStorageRef || v instanceof PersistentRef) {
      this.save(v.pid, false);
      return void this.out.u8(OP.BINPERSID);
    }
    if (v instanceof TorchTensorRef) return this.saveTensor(v);
    if (v instanceof TorchParameter) {
      const args = [v.data, v.requiresGrad, v.hooks ?? orderedDict()];
      if (v.state !== undefined) return this.saveReduce("torch._utils", "_rebuild_parameter_with_state", [...args, v.state], v);
      return this.saveReduce("torch._utils", "_rebuild_parameter", args, v);
    }
    if (v instanceof TorchDevice) return this.saveReduce("torch", "device", v.index === null ? [v.type] : [v.type, v.index], v);
    if (v instanceof NumpyArray) return this.saveArray(v);
    if (v instanceof NumpyDtype) return this.saveNumpyDtype(v);
    if (v instanceof NumpyScalar) return this.saveReduce(v.module, "scalar", [v.dtype, v.data], v);
    if (v instanceof PyByteArray) {
      this.refuse113("a bytearray");
      const args = this.protocol < 3 ? [latin1ToString(v.bytes), "latin-1"] : [v.bytes];
      return this.saveReduce("builtins", "bytearray", args, v);
    }
    if (v instanceof PyComplex) {
      this.refuse113("a complex number");
      return this.saveReduce("builtins", "complex", [new PyFloat(v.real), new PyFloat(v.imag)], v);
    }
    throw new WeightbridgeError("usage", `cannot pickle ${describeValue(v)}${this.where()}`);
  }

  // ---- scalars -------------------------------------------------------------------------------------

  private saveInt(v: number | bigint): void {
    const o = this.out;
    if (typeof v === "number" && v >= 0 && v <= 0xff) {
      o.u8(OP.BININT1);
      return void o.u8(v);
    }
    if (typeof v === "number" && v >= 0 && v <= 0xffff) {
      o.u8(OP.BININT2);
      return void o.u16(v);
    }
    if (typeof v === "number" && v >= -0x80000000 && v <= 0x7fffffff) {
      o.u8(OP.BININT);
      return void o.i32(v);
    }
    const b = BigInt(v);
    if (b >= -0x80000000n && b <= 0xffffn) return this.saveInt(Number(b));
    const bytes = twosComplement(b);
    if (bytes.length < 256) {
      o.u8(OP.LONG1);
      o.u8(bytes.length);
    } else {
      o.u8(OP.LONG4);
      o.u32(bytes.length);
    }
    o.bytes(bytes);
  }

  private saveFloat(v: number): void {
    this.refuse113("a float");
    this.out.u8(OP.BINFLOAT);
    this.out.f64be(v);
  }

  private saveString(s: string): void {
    const b = encodeUtf8(s);
    const o = this.out;
    if (this.protocol >= 4 && b.length < 256) {
      o.u8(OP.SHORT_BINUNICODE);
      o.u8(b.length);
    } else if (b.length < 2 ** 32) {
      o.u8(OP.BINUNICODE);
      o.u32(b.length);
    } else if (this.protocol >= 4) {
      o.u8(OP.BINUNICODE8);
      o.u64(b.length);
    } else {
      throw new WeightbridgeError("unsupported", `a string of ${b.length} bytes needs pickle protocol 4${this.where()}`);
    }
    o.bytes(b);
    this.memoize(s);
  }

  private saveBytes(b: Uint8Array): void {
    this.refuse113("bytes");
    if (this.protocol < 3) {
      if (b.length === 0) return this.saveReduce("builtins", "bytes", [], b);
      return this.saveReduce("_codecs", "encode", [latin1ToString(b), "latin1"], b);
    }
    const o = this.out;
    if (b.length < 256) {
      o.u8(OP.SHORT_BINBYTES);
      o.u8(b.length);
    } else if (b.length < 2 ** 32) {
      o.u8(OP.BINBYTES);
      o.u32(b.length);
    } else if (this.protocol >= 4) {
      o.u8(OP.BINBYTES8);
      o.u64(b.length);
    } else {
      throw new WeightbridgeError("unsupported", `bytes of ${b.length} bytes need pickle protocol 4${this.where()}`);
    }
    o.bytes(b);
    this.memoize(b);
  }

  // ---- containers ----------------------------------------------------------------------------------

  private saveTuple(items: PickleValue[], key: object | undefined): void {
    const o = this.out;
    if (items.length === 0) return void o.u8(OP.EMPTY_TUPLE);
    if (items.length > 3) o.u8(OP.MARK);
    items.forEach((x, i) => this.within(i, () => this.save(x)));
    const recursive = key !== undefined ? this.memo.get(key) : undefined;
    if (recursive !== undefined) {
      // The tuple contains itself: drop what was pushed and fetch the memoised copy (CPython does the same).
      if (items.length > 3) o.u8(OP.POP_MARK);
      else for (let i = 0; i < items.length; i++) o.u8(OP.POP);
      return this.get(recursive);
    }
    o.u8(items.length === 1 ? OP.TUPLE1 : items.length === 2 ? OP.TUPLE2 : items.length === 3 ? OP.TUPLE3 : OP.TUPLE);
    this.memoize(key);
  }

  private saveList(list: PickleValue[]): void {
    for (const item of this.listSteps(list)) this.save(item);
  }

  private appends(items: PickleValue[]): void {
    for (const item of this.appendSteps(items)) this.save(item);
  }

  private setItems(entries: Iterable<readonly [PickleValue, PickleValue]>): void {
    for (const value of this.setItemSteps(entries)) this.save(value);
  }

  private saveDict(d: PickleDict | DictStream): void {
    for (const value of this.dictSteps(d)) this.save(value);
  }

  // Big containers are written as steps: each yields a value for the caller to save next (at once,
  // or after giving the event loop a turn: saveSoon), and writes the opcodes around them.

  private *listSteps(list: PickleValue[]): Generator<PickleValue> {
    this.out.u8(OP.EMPTY_LIST);
    this.memoize(list);
    yield* this.appendSteps(list);
  }

  private *appendSteps(items: PickleValue[]): Generator<PickleValue> {
    const o = this.out;
    for (let start = 0; start < items.length; start += BATCH) {
      const end = Math.min(start + BATCH, items.length);
      if (end - start > 1) o.u8(OP.MARK);
      for (let i = start; i < end; i++) yield* this.stepWithin(i, [items[i]!]);
      o.u8(end - start > 1 ? OP.APPENDS : OP.APPEND);
    }
  }

  /** SETITEMS in batches of BATCH (SETITEM for a last single one), taking entries as they come. */
  private *setItemSteps(entries: Iterable<readonly [PickleValue, PickleValue]>): Generator<PickleValue> {
    const o = this.out;
    let batch: (readonly [PickleValue, PickleValue])[] = [];
    const flush = function* (this: Pickler): Generator<PickleValue> {
      if (batch.length > 1) o.u8(OP.MARK);
      for (const entry of batch)
        yield* this.stepWithin(typeof entry[0] === "string" || typeof entry[0] === "number" ? entry[0] : describeValue(entry[0]), entry);
      o.u8(batch.length > 1 ? OP.SETITEMS : OP.SETITEM);
      batch = [];
    };
    for (const entry of entries) {
      batch.push(entry);
      if (batch.length === BATCH) yield* flush.call(this);
    }
    if (batch.length > 0) yield* flush.call(this);
  }

  private *dictSteps(d: PickleDict | DictStream): Generator<PickleValue> {
    if (d.ordered) {
      this.saveGlobal("collections", "OrderedDict");
      this.out.u8(OP.EMPTY_TUPLE);
      this.out.u8(OP.REDUCE);
    } else {
      this.out.u8(OP.EMPTY_DICT);
    }
    this.memoize(d);
    yield* this.setItemSteps(d instanceof DictStream ? d.entries() : d);
    if (d instanceof PickleDict && d.attributes && d.attributes.size > 0) {
      if (!d.ordered) throw new WeightbridgeError("usage", `a plain dict cannot carry attributes${this.where()}`);
      yield d.attributes;
      this.out.u8(OP.BUILD);
    }
  }

  /** Yields `values` with `segment` on the path (for errors and the depth limit). */
  private *stepWithin(segment: string | number, values: readonly PickleValue[]): Generator<PickleValue> {
    this.path.push(segment);
    try {
      if (this.path.length > this.maxDepth) throw new WeightbridgeError("unsupported", `value nests deeper than ${this.maxDepth} levels${this.where()}`);
      yield* values;
    } finally {
      this.path.pop();
    }
  }

  /**
   * Saves `v`, giving the event loop a turn (`pause`) now and then inside big containers (a state
   * dict of 10^6 tensors): undefined when it was saved at once.
   */
  saveSoon(v: PickleValue, pause: () => Promise<void> | undefined): Promise<void> | undefined {
    const big = v instanceof DictStream || (v instanceof PickleDict && v.size >= BATCH) || (Array.isArray(v) && v.length >= BATCH);
    if (!big || this.memoized(v) !== undefined || this.options.persistentId?.(v) !== undefined) return void this.save(v);
    return this.saveSteps(Array.isArray(v) ? this.listSteps(v) : this.dictSteps(v as PickleDict | DictStream), pause);
  }

  private async saveSteps(steps: Generator<PickleValue>, pause: () => Promise<void> | undefined): Promise<void> {
    for (const value of steps) {
      const turn = pause();
      if (turn) await turn;
      const later = this.saveSoon(value, pause);
      if (later) await later;
      if (this.handOn) await this.handOn(HAND_ON_AT);
    }
  }

  private saveSet(s: PickleSet): void {
    this.refuse113(s.frozen ? "a frozenset" : "a set");
    const o = this.out;
    if (this.protocol < 4) return this.saveReduce("builtins", s.frozen ? "frozenset" : "set", [[...s.items]], s);
    if (s.frozen) {
      o.u8(OP.MARK);
      s.items.forEach((x, i) => this.within(i, () => this.save(x)));
      o.u8(OP.FROZENSET);
      return this.memoize(s);
    }
    o.u8(OP.EMPTY_SET);
    this.memoize(s);
    for (let start = 0; start < s.items.length; start += BATCH) {
      o.u8(OP.MARK);
      s.items.slice(start, start + BATCH).forEach((x, i) => this.within(start + i, () => this.save(x)));
      o.u8(OP.ADDITEMS);
    }
  }

  // ---- globals and reductions ----------------------------------------------------------------------

  private saveGlobal(module: string, name: string): void {
    const qualified = `${module}.${name}`;
    if (this.options.restrictTo === "torch-1.13") {
      const storage = storageClassDtype(module, name);
      const ok = storage !== undefined ? TORCH_113_STORAGE_DTYPES.has(storage) : TORCH_113_GLOBALS.has(qualified);
      if (!ok) this.refuse113(`the global ${qualified}`);
    }
    const index = this.globalMemo.get(qualified);
    if (index !== undefined) return this.get(index);
    const o = this.out;
    if (this.protocol >= 4) {
      this.save(module, false);
      this.save(name, false);
      o.u8(OP.STACK_GLOBAL);
    } else {
      const mod = this.protocol < 3 ? protocol2Module(module) : module;
      if (/\n/.test(mod + name)) throw new WeightbridgeError("usage", `global name ${qualified} contains a newline`);
      o.u8(OP.GLOBAL);
      o.bytes(encodeUtf8(`${mod}\n${name}\n`));
    }
    const memoIndex = this.nextMemo++;
    this.globalMemo.set(qualified, memoIndex);
    this.put(memoIndex);
  }

  /** `module.name(*args)`, memoised as `key` (CPython's save_reduce). */
  private saveReduce(module: string, name: string, args: PickleValue[], key: object): void {
    this.saveGlobal(module, name);
    this.saveTuple(args, undefined);
    this.out.u8(OP.REDUCE);
    this.memoize(key);
  }

  private saveObject(obj: PickleObject): void {
    const newobj = obj.origin === "newobj" || obj.origin === "newobj_ex";
    if (newobj && obj.kwargs && obj.kwargs.size > 0 && this.protocol >= 4) {
      this.saveGlobal(obj.module, obj.name);
      this.saveTuple(obj.args, undefined);
      this.save(obj.kwargs);
      this.out.u8(OP.NEWOBJ_EX);
      this.memoize(obj);
    } else if (newobj) {
      if (obj.kwargs && obj.kwargs.size > 0) throw new WeightbridgeError("unsupported", `keyword arguments need pickle protocol 4${this.where()}`);
      this.saveGlobal(obj.module, obj.name);
      this.saveTuple(obj.args, undefined);
      this.out.u8(OP.NEWOBJ);
      this.memoize(obj);
    } else {
      this.saveReduce(obj.module, obj.name, obj.args, obj);
    }
    if (obj.listItems) this.appends(obj.listItems);
    if (obj.dictItems) this.setItems(obj.dictItems);
    const state = obj.state ?? obj.attrs;
    if (state !== undefined) {
      this.save(state);
      this.out.u8(OP.BUILD);
    }
  }

  private saveTensor(t: TorchTensorRef): void {
    const base = [t.storage, t.offset, new PickleTuple(t.shape), new PickleTuple(t.stride)];
    const hooks = t.hooks ?? orderedDict();
    let args: PickleValue[];
    if (t.rebuild === "_rebuild_tensor") args = base;
    else if (t.rebuild === "_rebuild_tensor_v3") {
      if (!t.dtype) throw new WeightbridgeError("usage", `_rebuild_tensor_v3 needs a dtype${this.where()}`);
      args = [...base, t.requiresGrad, hooks, t.dtype];
    } else args = [...base, t.requiresGrad, hooks];
    if (t.metadata !== undefined && t.rebuild !== "_rebuild_tensor") args.push(t.metadata);
    this.saveReduce("torch._utils", t.rebuild, args, t);
  }

  private saveNumpyDtype(d: NumpyDtype): void {
    this.saveReduce("numpy", "dtype", [d.typestr, false, true], d);
    const state = d.state ?? new PickleTuple([3, d.byteorder, null, null, null, -1, -1, 0]);
    this.save(state);
    this.out.u8(OP.BUILD);
  }

  private saveArray(a: NumpyArray): void {
    if (!a.dtype) throw new WeightbridgeError("usage", `numpy array without a dtype${this.where()}`);
    const marker = new Uint8Array([0x62]); // numpy's b'b'
    this.saveReduce(a.module, "_reconstruct", [new PickleGlobal("numpy", "ndarray"), new PickleTuple([0]), marker], a);
    const data: PickleValue = a.objects ?? a.data ?? new Uint8Array(0);
    this.saveTuple([1, new PickleTuple(a.shape), a.dtype, a.fortranOrder, data], undefined);
    this.out.u8(OP.BUILD);
  }
}

/** Minimal little-endian two's-complement bytes of an integer (as CPython's encode_long). */
function twosComplement(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const out: number[] = [];
  let x = v;
  for (;;) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
    const signBit = (out[out.length - 1]! & 0x80) !== 0;
    if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
  }
  return Uint8Array.from(out);
}
