/**
 * A safe unpickler for protocols 0–5. It interprets opcodes into the inert value model of
 * ./values.ts and ./typed.ts; globals resolve only through the known-constructor table of
 * ./globals.ts, and nothing is ever imported or called. Globals that can only serve to run code
 * (./global-names.ts) are refused by default. Every length is checked against the remaining bytes, the
 * memo, mark depth, nesting depth and total work are bounded, and any malformed input ends in a
 * WeightbridgeError naming the opcode and byte offset.
 */
import { WeightbridgeError, type ErrorCode } from "../errors.js";
import { applyBuild } from "./build.js";
import { PickleCursor } from "./cursor.js";
import { toPickleInput, type PickleInput } from "./input.js";
import { GlobalPolicy, type GlobalRef } from "./global-policy.js";
import { knownConstructor, type BuildContext } from "./globals.js";
import { OP, opName } from "./opcodes.js";
import { decodePyStringLiteral, decodeRawUnicodeEscape, decodeUtf8, latin1ToString } from "./strings.js";
import { TorchDtype, TorchStorageRef, TorchStorageType } from "./typed.js";
import {
  LazyBytes,
  LazyText,
  PersistentRef,
  PickleDict,
  PickleGlobal,
  PickleObject,
  PickleSet,
  PickleTuple,
  PyByteArray,
  PyFloat,
  describeValue,
  intOf,
  sequenceItems,
  type ObjectOrigin,
  type PickleValue,
} from "./values.js";
import { nestingDepth } from "./walk.js";
import { AnomalyLog, type PickleAnomaly } from "./anomalies.js";
import { JOBLIB_WRAPPER, joblibArray, type InlineContext } from "./joblib.js";
import { appendAll } from "../util/arrays.js";

export interface UnpickleOptions {
  /** Turns a persistent id into a value. Default: torch `('storage', …)` ids → TorchStorageRef, others → PersistentRef. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /** File label for error messages. */
  name?: string;
  /** Throw 'unsafe-pickle' when a pickle references a code-running global (default true). */
  refuseDangerous?: boolean;
  /** Maximum MARK nesting and value nesting depth (default 2000; CPython cannot write deeper than ~1000). */
  maxDepth?: number;
  /** Maximum number of memo entries (default 2^23). */
  maxMemo?: number;
  /** Return Python floats as PyFloat instead of number, so integral floats survive a round trip. */
  preserveFloats?: boolean;
  /** How py2 `str` (STRING/BINSTRING/SHORT_BINSTRING) is returned: latin-1 text (default, like paddle.load), UTF-8 text, or bytes. */
  py2Strings?: "latin1" | "utf-8" | "bytes";
  /** Byte offset where the pickle starts (legacy torch files hold several pickles back to back). */
  start?: number;
  /**
   * BINBYTES / BINBYTES8 / BYTEARRAY8 payloads longer than this are not read: they become
   * LazyBytes ranges of the input (numpy array data keeps the range). Off by default.
   */
  lazyBytesOver?: number;
  /** Window size for input that is not in memory (tests use tiny windows). */
  windowBytes?: number;
  /** Receives every global as it is met, so a caller keeps those seen before an error. */
  globals?: GlobalRef[];
  /** Receives the structural oddities met (./anomalies.ts): self-reference, duplicate keys, frames that lie ... */
  anomalies?: PickleAnomaly[];
}

export type { GlobalRef, GlobalStatus } from "./global-policy.js";
export type { PickleAnomaly } from "./anomalies.js";

export interface UnpickleResult {
  value: PickleValue;
  /** Offset just past STOP. */
  end: number;
  /** Highest PROTO seen (0 when the pickle has none). */
  protocol: number;
  globals: GlobalRef[];
}

const DEFAULT_MAX_DEPTH = 2000;
const DEFAULT_MAX_MEMO = 1 << 23;

/**
 * Unpickles one pickle and returns its value. See UnpickleOptions. The input is the pickle's bytes
 * or a PickleInput (./input.ts: sourceInput reads a file through a window).
 */
export function unpickle(input: Uint8Array | PickleInput, options: UnpickleOptions = {}): PickleValue {
  return unpickleDetailed(input, options).value;
}

/** Unpickles one pickle and also reports where it ended and every global it referenced. */
export function unpickleDetailed(input: Uint8Array | PickleInput, options: UnpickleOptions = {}): UnpickleResult {
  return new Machine(toPickleInput(input), options).run();
}

/**
 * The default persistent_load: torch storage ids become TorchStorageRef; a legacy whole-model
 * `('module', cls, source_file, source)` id stands for the class itself (torch.load returns it).
 */
export function defaultPersistentLoad(pid: PickleValue): PickleValue {
  const items = sequenceItems(pid);
  if (items && items.length === 4 && items[0] === "module" && items[1] instanceof PickleGlobal) return items[1];
  if (items && (items.length === 5 || items.length === 6) && items[0] === "storage") {
    const [, type, key, location, numel] = items;
    const n = intOf(numel);
    if (type instanceof TorchStorageType && (typeof key === "string" || typeof key === "number") && typeof location === "string" && n !== undefined && n >= 0) {
      return new TorchStorageRef(type, String(key), location, n, pid);
    }
  }
  return new PersistentRef(pid);
}

class Machine implements BuildContext {
  private readonly cur: PickleCursor;
  private readonly stack: PickleValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly policy: GlobalPolicy;
  private readonly maxDepth: number;
  private readonly maxMemo: number;
  private readonly file: string | undefined;
  private budget: number;
  private protocol = 0;
  private op = 0;
  private opOffset = 0;
  private inCallback = false;

  private readonly lazyOver: number;
  private readonly anomalies: AnomalyLog;
  /** End of the current FRAME (CPython only checks that a frame's bytes exist; opcodes may cross its end). */
  private frameEnd = -1;
  /** Where each mutable container was made: offsets for self-reference findings. */
  private readonly made = new Map<object, number>();

  constructor(
    input: PickleInput,
    private readonly options: UnpickleOptions,
  ) {
    this.file = options.name ?? input.name;
    const start = options.start ?? 0;
    if (!Number.isInteger(start) || start < 0 || start > input.size) {
      throw new WeightbridgeError("usage", `pickle start offset ${start} is outside the ${input.size}-byte input`, { file: this.file });
    }
    this.cur = new PickleCursor(input, start, this.file, options.windowBytes);
    this.lazyOver = options.lazyBytesOver ?? Infinity;
    this.policy = new GlobalPolicy(options.refuseDangerous ?? true, this.file, options.globals);
    this.anomalies = new AnomalyLog(options.anomalies, (options.refuseDangerous ?? true) ? this.file : undefined);
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxMemo = options.maxMemo ?? DEFAULT_MAX_MEMO;
    this.budget = 32 * (input.size - start) + 1_000_000;
  }

  run(): UnpickleResult {
    try {
      const value = this.loop();
      this.policy.finish();
      if (this.frameEnd > this.cur.pos)
        this.anomalies.add("frame", this.cur.pos - 1, `the last FRAME declares ${this.frameEnd - this.cur.pos} bytes past STOP`);
      if (
        nestingDepth(value, this.maxDepth, (at) => {
          // Indirect cycles only: a container put straight into itself was reported where it happened.
          if (!this.anomalies.has("self-reference")) this.anomalies.add("self-reference", this.offsetOf(at), "a container holds itself through others");
        }) > this.maxDepth
      ) {
        throw new WeightbridgeError("unsupported", `pickle nests values deeper than ${this.maxDepth} levels`, { file: this.file });
      }
      return { value, end: this.cur.pos, protocol: this.protocol, globals: this.policy.globals };
    } catch (e) {
      if (e instanceof WeightbridgeError) throw e.at({ file: this.file });
      if (this.inCallback) throw e;
      // A bug here must still surface as the documented error type, with where it happened.
      const message = e instanceof Error ? e.message : String(e);
      throw new WeightbridgeError(
        "corrupt",
        `pickle could not be read: ${message} (${opName(this.op)} at byte ${this.opOffset})`,
        { file: this.file, offset: this.opOffset },
        { cause: e },
      );
    }
  }

  // ---- BuildContext -------------------------------------------------------------------------------

  fail(code: ErrorCode, message: string): never {
    throw new WeightbridgeError(code, `${message} (${this.where()})`, { file: this.file, offset: this.opOffset });
  }

  private where(): string {
    return `${opName(this.op)} at byte ${this.opOffset}`;
  }

  charge(units: number): void {
    this.budget -= units;
    if (this.budget < 0) this.fail("corrupt", "pickle asks for far more work than its size allows");
  }

  call(callee: PickleValue, args: PickleValue[]): PickleValue {
    if (callee instanceof PickleGlobal) {
      if (this.policy.isEval(callee)) return this.policy.callEval(callee, args, this.where());
      const known = knownConstructor(callee);
      if (known) return known.call(args, this, callee.qualifiedName);
      return this.policy.calls(callee, args, this.where(), "reduce");
    }
    if (callee instanceof TorchStorageType) return new PickleObject(callee.module, callee.name, args, "reduce");
    if (callee instanceof TorchDtype) return new PickleObject("torch", callee.name, args, "reduce");
    // Calling what a call returned (getattr(...)(...)): dangerous, and still only a record, so a
    // scan can go on listing the rest of the pickle's globals.
    if (callee instanceof PickleObject) return this.policy.calls(callee, args, this.where(), "reduce");
    return this.fail("corrupt", `REDUCE calls a ${describeValue(callee)}`);
  }

  instance(cls: PickleGlobal, args: PickleValue[]): PickleObject {
    return this.policy.instance(cls, args, "reduce");
  }

  flag(value: PickleValue | undefined, reason: string): void {
    this.policy.flag(value, `${reason} (${this.where()})`);
  }

  /** What joblib's inline array data needs: the cursor, and a nested unpickler for object arrays. */
  private inline(): InlineContext {
    return {
      cur: this.cur,
      fail: (code, message) => this.fail(code, message),
      charge: (units) => this.charge(units),
      nested: () => {
        const inner = new Machine(this.cur.input, { ...this.options, start: this.cur.pos, globals: this.policy.globals }).run();
        this.cur.pos = inner.end;
        return inner.value;
      },
    };
  }

  /** Where the container `v` was made, for anomaly reports (the current opcode when unknown). */
  private offsetOf(v: object): number {
    return this.made.get(v) ?? this.opOffset;
  }

  // ---- stack helpers ------------------------------------------------------------------------------

  private floor(): number {
    return this.marks.length ? this.marks[this.marks.length - 1]! : 0;
  }

  private push(v: PickleValue): void {
    this.stack.push(v);
  }

  /** Pushes a new mutable container, remembering where it was made. */
  private pushNew(v: PickleValue[] | PickleDict | PickleSet | PickleValue): void {
    if (this.options.anomalies && v !== null && typeof v === "object") this.made.set(v, this.opOffset);
    this.stack.push(v);
  }

  private pop(): PickleValue {
    if (this.stack.length <= this.floor()) this.fail("corrupt", "stack underflow");
    return this.stack.pop()!;
  }

  private top(): PickleValue {
    if (this.stack.length <= this.floor()) this.fail("corrupt", "stack underflow");
    return this.stack[this.stack.length - 1]!;
  }

  private popMark(): PickleValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail("corrupt", "no MARK on the stack");
    this.charge(this.stack.length - mark);
    return this.stack.splice(mark);
  }

  private memoPut(index: number): void {
    if (index < 0) this.fail("corrupt", `negative memo index ${index}`);
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) this.fail("corrupt", `memo grows past ${this.maxMemo} entries`);
    this.memo.set(index, this.top());
  }

  private memoGet(index: number): void {
    if (!this.memo.has(index)) this.fail("corrupt", `memo index ${index} was never stored`);
    this.push(this.memo.get(index)!);
  }

  // ---- text helpers --------------------------------------------------------------------------------

  private utf8(b: Uint8Array): string {
    this.charge(b.length);
    const s = decodeUtf8(b);
    if (s === undefined) this.fail("corrupt", "string is not valid UTF-8");
    return s;
  }

  private lineText(): string {
    const b = this.cur.line(opName(this.op), this.opOffset);
    this.charge(b.length);
    return latin1ToString(b);
  }

  private lineInt(text = this.lineText()): number | bigint {
    if (this.op === OP.LONG && text.endsWith("L")) text = text.slice(0, -1);
    if (!/^[+-]?\d+$/.test(text)) this.fail("corrupt", `'${text.slice(0, 40)}' is not an integer`);
    return toInt(BigInt(text));
  }

  private py2String(b: Uint8Array): PickleValue {
    this.charge(b.length);
    const mode = this.options.py2Strings ?? "latin1";
    if (mode === "bytes") return b;
    if (mode === "utf-8") return this.utf8(b);
    return latin1ToString(b);
  }

  /**
   * A str of n UTF-8 bytes. When big, lazy reading is on and it is the text `_codecs.encode` is
   * about to turn into bytes (how protocol 2 stores numpy array data), it is left in the input.
   */
  private text(n: number): PickleValue {
    const name = opName(this.op);
    const top = this.stack[this.stack.length - 1];
    if (n > this.lazyOver && top instanceof PickleGlobal && top.module === "_codecs" && top.name === "encode") {
      return new LazyText(this.cur.skip(n, name, this.opOffset), n);
    }
    return this.utf8(this.cur.take(n, name, this.opOffset));
  }

  /** A bytes/bytearray payload of n bytes: read, or (when big and the caller opted in) left in the input. */
  private bytes(n: number, bytearray: boolean): PickleValue {
    const name = opName(this.op);
    if (n > this.lazyOver) return new LazyBytes(this.cur.skip(n, name, this.opOffset), n, bytearray);
    const b = this.cur.take(n, name, this.opOffset);
    return bytearray ? new PyByteArray(b) : b;
  }

  private float(v: number): PickleValue {
    return this.options.preserveFloats ? new PyFloat(v) : v;
  }

  private long(b: Uint8Array): number | bigint {
    this.charge(b.length);
    if (b.length === 0) return 0;
    let hex = "";
    for (let i = b.length - 1; i >= 0; i--) hex += b[i]!.toString(16).padStart(2, "0");
    let v = BigInt(`0x${hex}`);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return toInt(v);
  }

  // ---- globals and object creation ----------------------------------------------------------------

  private instantiate(cls: PickleValue, args: PickleValue[], origin: ObjectOrigin): PickleValue {
    if (cls instanceof PickleGlobal) {
      if (this.policy.isEval(cls)) return this.policy.callEval(cls, args, this.where(), origin === "inst" || origin === "obj");
      const known = knownConstructor(cls);
      if (known && (known.newobj || origin === "inst" || origin === "obj")) return known.call(args, this, cls.qualifiedName);
      // INST and OBJ call the class; NEWOBJ only runs `cls.__new__(cls, ...)`, which rebuilds an object.
      if (origin === "inst" || origin === "obj") return this.policy.calls(cls, args, this.where(), origin);
      // NEWOBJ is `cls.__new__(cls, *args)`: on something named like a function (not CamelCase)
      // and with arguments, it is a call dressed up as object creation.
      if (args.length > 0 && !/^_*[A-Z]/.test(cls.name.split(".").pop()!)) return this.policy.calls(cls, args, this.where(), "reduce");
      return this.policy.instance(cls, args, origin);
    }
    if (cls instanceof TorchStorageType) return new PickleObject(cls.module, cls.name, args, origin);
    if (cls instanceof PickleObject) return this.policy.calls(cls, args, this.where(), "reduce");
    return this.fail("corrupt", `${opName(this.op)} on a ${describeValue(cls)}, not a class`);
  }

  private persistent(pid: PickleValue): PickleValue {
    const load = this.options.persistentLoad;
    if (!load) return defaultPersistentLoad(pid);
    this.inCallback = true;
    try {
      return load(pid);
    } catch (e) {
      if (e instanceof WeightbridgeError) throw e.at({ file: this.file, offset: this.opOffset });
      throw e;
    } finally {
      this.inCallback = false;
    }
  }

  private appendTo(target: PickleValue, items: PickleValue[]): void {
    if (items.includes(target)) this.anomalies.add("self-reference", this.opOffset, `${opName(this.op)} puts a ${describeValue(target)} into itself`);
    if (Array.isArray(target)) {
      for (const item of items) target.push(item);
    } else if (target instanceof PickleObject) {
      target.listItems ??= [];
      appendAll(target.listItems, items);
    } else {
      this.fail("corrupt", `${opName(this.op)} on a ${describeValue(target)}`);
    }
  }

  private setItems(target: PickleValue, items: PickleValue[]): void {
    if (items.length % 2 !== 0) this.fail("corrupt", "odd number of items for key/value pairs");
    let dict: PickleDict;
    if (target instanceof PickleDict) dict = target;
    else if (target instanceof PickleObject) dict = target.dictItems ??= new PickleDict(undefined, false);
    else return this.fail("corrupt", `${opName(this.op)} on a ${describeValue(target)}`);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i]!;
      if ((typeof key === "string" || typeof key === "number" || typeof key === "bigint") && dict.has(key)) {
        this.anomalies.add("duplicate-key", this.opOffset, `key ${JSON.stringify(String(key)).slice(0, 60)} is set twice (the later value wins)`);
      }
      if (items[i + 1] === target) this.anomalies.add("self-reference", this.opOffset, `${opName(this.op)} puts a ${describeValue(target)} into itself`);
      dict.set(key, items[i + 1]!);
    }
  }

  // ---- the loop -----------------------------------------------------------------------------------

  private loop(): PickleValue {
    const cur = this.cur;
    for (;;) {
      this.opOffset = cur.pos;
      if (this.frameEnd >= 0 && cur.pos >= this.frameEnd) {
        if (cur.pos > this.frameEnd)
          this.anomalies.add(
            "frame",
            this.frameEnd,
            `an opcode crosses the end of its FRAME (frame ends at byte ${this.frameEnd}, opcode ends at byte ${cur.pos})`,
          );
        this.frameEnd = -1;
      }
      if (cur.remaining === 0) {
        throw new WeightbridgeError("truncated", `pickle ends at byte ${cur.pos} without STOP`, { file: this.file, offset: cur.pos });
      }
      const op = (this.op = cur.opcode());
      const name = opName(op);
      const at = this.opOffset;
      switch (op) {
        case OP.STOP: {
          // CPython ignores anything left below the result; so do we.
          return this.pop();
        }
        case OP.PROTO: {
          const p = cur.u8(name, at);
          if (p > 5) this.fail("unsupported", `pickle protocol ${p}`);
          this.protocol = Math.max(this.protocol, p);
          break;
        }
        case OP.FRAME: {
          // As CPython's C unpickler: the frame's bytes must exist; they are then read as usual.
          const n = cur.u64(name, at);
          cur.need(n, name, at);
          if (this.frameEnd > cur.pos) this.anomalies.add("frame", at, `FRAME starts ${this.frameEnd - at} bytes before the previous frame ends`);
          this.frameEnd = cur.pos + n;
          break;
        }
        case OP.MARK:
          if (this.marks.length >= this.maxDepth) this.fail("unsupported", `MARKs nest deeper than ${this.maxDepth}`);
          this.marks.push(this.stack.length);
          break;
        case OP.POP:
          if (this.stack.length > this.floor()) this.stack.pop();
          else this.popMark();
          break;
        case OP.POP_MARK:
          this.popMark();
          break;
        case OP.DUP:
          this.push(this.top());
          break;

        // ---- scalars
        case OP.NONE:
          this.push(null);
          break;
        case OP.NEWTRUE:
          this.push(true);
          break;
        case OP.NEWFALSE:
          this.push(false);
          break;
        case OP.BININT:
          this.push(cur.i32(name, at));
          break;
        case OP.BININT1:
          this.push(cur.u8(name, at));
          break;
        case OP.BININT2:
          this.push(cur.u16(name, at));
          break;
        case OP.LONG1:
          this.push(this.long(cur.take(cur.u8(name, at), name, at)));
          break;
        case OP.LONG4: {
          const n = cur.i32(name, at);
          if (n < 0) this.fail("corrupt", `negative length ${n}`);
          this.push(this.long(cur.take(n, name, at)));
          break;
        }
        case OP.INT: {
          const text = this.lineText();
          this.push(text === "00" || text === "01" ? text === "01" : this.lineInt(text));
          break;
        }
        case OP.LONG:
          this.push(this.lineInt());
          break;
        case OP.FLOAT: {
          const text = this.lineText().trim();
          if (!/^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)$/i.test(text)) this.fail("corrupt", `'${text.slice(0, 40)}' is not a float`);
          const lower = text.toLowerCase().replace(/^\+/, "");
          const v = lower.endsWith("nan") ? NaN : lower.startsWith("-inf") ? -Infinity : lower.startsWith("inf") ? Infinity : Number(text);
          this.push(this.float(v));
          break;
        }
        case OP.BINFLOAT:
          this.push(this.float(cur.f64be(name, at)));
          break;

        // ---- strings and bytes
        case OP.BINUNICODE:
          this.push(this.text(cur.u32(name, at)));
          break;
        case OP.SHORT_BINUNICODE:
          this.push(this.utf8(cur.take(cur.u8(name, at), name, at)));
          break;
        case OP.BINUNICODE8:
          this.push(this.text(cur.u64(name, at)));
          break;
        case OP.UNICODE: {
          const b = cur.line(name, at);
          this.charge(b.length);
          const s = decodeRawUnicodeEscape(b);
          if (s === undefined) this.fail("corrupt", "bad raw-unicode-escape text");
          this.push(s);
          break;
        }
        case OP.STRING: {
          const b = cur.line(name, at);
          this.charge(b.length);
          const raw = decodePyStringLiteral(b);
          if (raw === undefined) this.fail("corrupt", "bad quoted string");
          this.push(this.py2String(raw));
          break;
        }
        case OP.BINSTRING: {
          const n = cur.i32(name, at);
          if (n < 0) this.fail("corrupt", `negative length ${n}`);
          this.push(this.py2String(cur.take(n, name, at)));
          break;
        }
        case OP.SHORT_BINSTRING:
          this.push(this.py2String(cur.take(cur.u8(name, at), name, at)));
          break;
        case OP.BINBYTES:
          this.push(this.bytes(cur.u32(name, at), false));
          break;
        case OP.SHORT_BINBYTES:
          this.push(cur.take(cur.u8(name, at), name, at));
          break;
        case OP.BINBYTES8:
          this.push(this.bytes(cur.u64(name, at), false));
          break;
        case OP.BYTEARRAY8:
          this.push(this.bytes(cur.u64(name, at), true));
          break;
        case OP.NEXT_BUFFER:
        case OP.READONLY_BUFFER:
          this.fail("unsupported", "out-of-band buffers (pickle protocol 5 with buffer_callback) are not stored in the file");
          break;

        // ---- containers
        case OP.EMPTY_TUPLE:
          this.push(new PickleTuple([]));
          break;
        case OP.EMPTY_LIST:
          this.pushNew([]);
          break;
        case OP.EMPTY_DICT:
          this.pushNew(new PickleDict());
          break;
        case OP.EMPTY_SET:
          this.pushNew(new PickleSet([]));
          break;
        case OP.TUPLE:
          this.push(new PickleTuple(this.popMark()));
          break;
        case OP.TUPLE1: {
          const a = this.pop();
          this.push(new PickleTuple([a]));
          break;
        }
        case OP.TUPLE2: {
          const b = this.pop();
          const a = this.pop();
          this.push(new PickleTuple([a, b]));
          break;
        }
        case OP.TUPLE3: {
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(new PickleTuple([a, b, c]));
          break;
        }
        case OP.LIST:
          this.pushNew(this.popMark());
          break;
        case OP.DICT: {
          const d = new PickleDict();
          this.setItems(d, this.popMark());
          this.pushNew(d);
          break;
        }
        case OP.FROZENSET:
          this.push(new PickleSet(this.popMark(), true));
          break;
        case OP.APPEND: {
          const v = this.pop();
          this.appendTo(this.top(), [v]);
          break;
        }
        case OP.APPENDS: {
          const items = this.popMark();
          this.appendTo(this.top(), items);
          break;
        }
        case OP.SETITEM: {
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case OP.SETITEMS: {
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case OP.ADDITEMS: {
          const items = this.popMark();
          const target = this.top();
          if (!(target instanceof PickleSet) || target.frozen) this.fail("corrupt", `ADDITEMS on a ${describeValue(target)}`);
          appendAll(target.items, items);
          break;
        }

        // ---- memo
        case OP.PUT:
          this.memoPut(Number(this.lineInt()));
          break;
        case OP.BINPUT:
          this.memoPut(cur.u8(name, at));
          break;
        case OP.LONG_BINPUT:
          this.memoPut(cur.u32(name, at));
          break;
        case OP.MEMOIZE:
          this.memoPut(this.memo.size);
          break;
        case OP.GET:
          this.memoGet(Number(this.lineInt()));
          break;
        case OP.BINGET:
          this.memoGet(cur.u8(name, at));
          break;
        case OP.LONG_BINGET:
          this.memoGet(cur.u32(name, at));
          break;

        // ---- globals, calls, objects
        case OP.GLOBAL: {
          const module = this.utf8(cur.line(name, at));
          const gname = this.utf8(cur.line(name, at));
          this.push(this.policy.reference(module, gname, "GLOBAL", at));
          break;
        }
        case OP.STACK_GLOBAL: {
          const gname = this.pop();
          const module = this.pop();
          if (typeof module !== "string" || typeof gname !== "string") this.fail("corrupt", "STACK_GLOBAL needs two strings");
          this.push(this.policy.reference(module, gname, "STACK_GLOBAL", at));
          break;
        }
        case OP.REDUCE: {
          const argTuple = this.pop();
          const args = sequenceItems(argTuple);
          if (!args) this.fail("corrupt", `REDUCE arguments are a ${describeValue(argTuple)}, not a tuple`);
          const callee = this.pop();
          this.pushNew(this.call(callee, args));
          break;
        }
        case OP.NEWOBJ: {
          const argTuple = this.pop();
          const args = sequenceItems(argTuple);
          if (!args) this.fail("corrupt", `NEWOBJ arguments are a ${describeValue(argTuple)}, not a tuple`);
          this.pushNew(this.instantiate(this.pop(), args, "newobj"));
          break;
        }
        case OP.NEWOBJ_EX: {
          const kwargs = this.pop();
          const args = sequenceItems(this.pop());
          if (!args || !(kwargs instanceof PickleDict)) this.fail("corrupt", "NEWOBJ_EX needs an argument tuple and a keyword dict");
          const obj = this.instantiate(this.pop(), args, "newobj_ex");
          if (obj instanceof PickleObject && kwargs.size > 0) obj.kwargs = kwargs;
          this.push(obj);
          break;
        }
        case OP.INST: {
          const module = this.utf8(cur.line(name, at));
          const gname = this.utf8(cur.line(name, at));
          const cls = this.policy.reference(module, gname, "INST", at);
          this.push(this.instantiate(cls, this.popMark(), "inst"));
          break;
        }
        case OP.OBJ: {
          const items = this.popMark();
          if (items.length === 0) this.fail("corrupt", "OBJ without a class");
          this.push(this.instantiate(items[0]!, items.slice(1), "obj"));
          break;
        }
        case OP.BUILD: {
          const state = this.pop();
          const target = this.top();
          applyBuild(target, state, this);
          if (target instanceof PickleObject && target.qualifiedName === JOBLIB_WRAPPER) {
            const dataStart = this.cur.pos;
            this.stack[this.stack.length - 1] = joblibArray(target, this.inline());
            // joblib ends the frame before writing array bytes outside any frame.
            if (this.frameEnd >= 0 && this.frameEnd <= dataStart) this.frameEnd = -1;
          }
          break;
        }
        case OP.PERSID:
          this.push(this.persistent(this.lineText()));
          break;
        case OP.BINPERSID:
          this.push(this.persistent(this.pop()));
          break;
        case OP.EXT1:
          this.push(this.policy.extension(cur.u8(name, at), "EXT1", at));
          break;
        case OP.EXT2:
          this.push(this.policy.extension(cur.u16(name, at), "EXT2", at));
          break;
        case OP.EXT4:
          this.push(this.policy.extension(cur.i32(name, at), "EXT4", at));
          break;
        default:
          this.fail("corrupt", `unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
      }
    }
  }
}

function toInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
