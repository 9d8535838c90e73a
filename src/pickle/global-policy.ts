/**
 * What the unpickler does with each global it meets: record it (module, name, opcode, offset),
 * classify it by how the pickle USES it, and refuse what would run code. The verdict is an allow
 * list, like torch's weights_only loader, not a deny list:
 *
 *   known      the known-constructor table (OrderedDict, torch rebuild functions, storages,
 *              numpy reconstruction ...): modelled, safe
 *   unknown    a class only referenced or used to rebuild an object (NEWOBJ, copyreg's
 *              reconstructor over `object`, BUILD with a dict state): whole-model pickles'
 *              `torch.nn.modules.linear.Linear`, `__main__.Net`; kept as an inert record, never called
 *   dangerous  anything the pickle would CALL (REDUCE, INST, OBJ, a reconstructor base other
 *              than a plain builtin type, BUILD with a state only a `__setstate__` could take, BUILD
 *              on a module attribute, calling what a call returned), plus names that only exist to
 *              reach code or the system (os.*, builtins.eval, dotted `__`/getattr chains, EXT codes)
 *   paddle-eval `builtins.eval` used only as Paddle's `eval('name', {'name': value})` lookup,
 *              answered from the dict without evaluating.
 */
import { WeightbridgeError } from "../errors.js";
import { isKnownGlobal, resolveGlobal } from "./globals.js";
import { canonicalModule, isDangerousGlobal, isHarmlessCall } from "./global-names.js";
import { PickleDict, PickleGlobal, PickleObject, type PickleValue } from "./values.js";

export type GlobalStatus = "known" | "unknown" | "dangerous" | "paddle-eval";

export interface GlobalRef {
  module: string;
  name: string;
  opcode: "GLOBAL" | "STACK_GLOBAL" | "INST" | "EXT1" | "EXT2" | "EXT4";
  /** Byte offset of the opcode. */
  offset: number;
  /** known: in the constructor table; unknown: a class kept as an inert record; dangerous: would run code;
   *  paddle-eval: `builtins.eval` used only as Paddle's `eval('name', {'name': value})`. */
  status: GlobalStatus;
  /** Why a dangerous global is dangerous (`REDUCE calls it at byte 40`). */
  reason?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class GlobalPolicy {
  readonly globals: GlobalRef[];
  private readonly refs = new Map<PickleGlobal, GlobalRef>();
  /** Objects the pickle built, by the global whose class or call made them. */
  private readonly makers = new WeakMap<PickleObject, GlobalRef>();
  private readonly evalRefs = new Map<PickleGlobal, GlobalRef>();
  private readonly usedEval = new Set<GlobalRef>();

  constructor(
    private readonly refuse: boolean,
    private readonly file: string | undefined,
    sink?: GlobalRef[],
  ) {
    this.globals = sink ?? [];
  }

  /** The value a GLOBAL/STACK_GLOBAL/INST pushes, after recording and (maybe) refusing it. */
  reference(module: string, name: string, opcode: GlobalRef["opcode"], offset: number): PickleValue {
    const mod = canonicalModule(module);
    const known = isKnownGlobal(mod, name);
    const ref: GlobalRef = { module: mod, name, opcode, offset, status: known ? "known" : "unknown" };
    this.globals.push(ref);
    if (mod === "builtins" && name === "eval") {
      ref.status = "paddle-eval"; // judged when used
      const g = new PickleGlobal(mod, name);
      this.evalRefs.set(g, ref);
      this.refs.set(g, ref);
      return g;
    }
    if (!known && isDangerousGlobal(mod, name)) this.dangerous(ref, "a name that only serves to run code or reach the system");
    const value = resolveGlobal(mod, name);
    if (value instanceof PickleGlobal) this.refs.set(value, ref);
    return value;
  }

  /** EXT1/EXT2/EXT4: a callable taken from copyreg's extension registry, so unnamed in the file. */
  extension(code: number, opcode: "EXT1" | "EXT2" | "EXT4", offset: number): PickleValue {
    const ref: GlobalRef = { module: "copyreg", name: `extension code ${code}`, opcode, offset, status: "unknown" };
    this.globals.push(ref);
    this.dangerous(ref, "an EXT opcode names its callable only through copyreg's extension registry");
    const g = new PickleGlobal(ref.module, ref.name);
    this.refs.set(g, ref);
    return g;
  }

  isEval(v: PickleGlobal): boolean {
    return v instanceof PickleGlobal && this.evalRefs.has(v);
  }

  /** A call of builtins.eval; `where` names the calling opcode for the message. */
  callEval(g: PickleGlobal, args: PickleValue[], where: string, lookupAllowed = true): PickleValue {
    const ref = this.evalRefs.get(g)!;
    const [expr, scope] = args;
    if (lookupAllowed && args.length === 2 && typeof expr === "string" && IDENTIFIER.test(expr) && scope instanceof PickleDict && scope.has(expr)) {
      this.usedEval.add(ref);
      return scope.get(expr)!;
    }
    this.dangerous(ref, `${where} calls it with arguments other than Paddle's eval('name', {'name': value})`);
    return this.made(new PickleObject(g.module, g.name, args, "reduce"), ref);
  }

  /** The pickle calls `callee` (not a known constructor): dangerous. Returns the inert record of the call. */
  calls(callee: PickleGlobal | PickleObject, args: PickleValue[], where: string, origin: "reduce" | "inst" | "obj"): PickleObject {
    const ref = this.refOf(callee);
    const what = callee instanceof PickleObject ? `calls what ${callee.qualifiedName}(...) returned` : "calls it";
    // Known classes without a builder (defaultdict, Counter ...) are plain data types: a call only records.
    const harmless = callee instanceof PickleGlobal && isHarmlessCall(callee.module, callee.name);
    if (ref && ref.status !== "known" && !harmless) this.dangerous(ref, `${where} ${what}`);
    const name = callee instanceof PickleObject ? `${callee.name}(...)` : callee.name;
    return this.made(new PickleObject(callee.module, name, args, origin), ref);
  }

  /** The object `cls.__new__(cls, ...)` builds (NEWOBJ, copyreg.__newobj__, _reconstructor over object). */
  instance(cls: PickleGlobal, args: PickleValue[], origin: PickleObject["origin"]): PickleObject {
    return this.made(new PickleObject(cls.module, cls.name, args, origin), this.refs.get(cls));
  }

  /** A value the pickle uses in a way only running code could serve (the reason says which). */
  flag(value: PickleValue | undefined, reason: string): void {
    const ref = value instanceof PickleGlobal || value instanceof PickleObject ? this.refOf(value) : undefined;
    if (ref) this.dangerous(ref, reason);
  }

  /** builtins.eval referenced but never used as Paddle's lookup counts as dangerous. */
  finish(): void {
    for (const ref of this.evalRefs.values()) {
      if (ref.status !== "dangerous" && !this.usedEval.has(ref)) this.dangerous(ref, "referenced but never used as Paddle's eval lookup");
    }
  }

  private refOf(v: PickleGlobal | PickleObject): GlobalRef | undefined {
    return v instanceof PickleGlobal ? this.refs.get(v) : this.makers.get(v);
  }

  private made(obj: PickleObject, ref: GlobalRef | undefined): PickleObject {
    if (ref) this.makers.set(obj, ref);
    return obj;
  }

  private dangerous(ref: GlobalRef, reason: string): void {
    if (ref.status !== "dangerous") {
      ref.status = "dangerous";
      ref.reason = reason;
    }
    if (this.refuse) {
      throw new WeightbridgeError("unsafe-pickle", `pickle calls ${ref.module}.${ref.name} (${ref.opcode} at byte ${ref.offset}): ${reason}`, {
        file: this.file,
        offset: ref.offset,
      });
    }
  }
}
