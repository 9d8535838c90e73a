/**
 * What the unpickler does with each global it meets: record it (module, name, opcode, offset),
 * classify it, refuse code-running ones, and allow `builtins.eval` only as Paddle's
 * `eval('name', {'name': value})` lookup, which is answered from the dict without evaluating.
 */
import { WeightbridgeError } from "../errors.js";
import { isKnownGlobal, resolveGlobal } from "./globals.js";
import { canonicalModule, isDangerousGlobal } from "./names.js";
import { PickleDict, PickleGlobal, PickleObject, type PickleValue } from "./values.js";

export type GlobalStatus = "known" | "unknown" | "dangerous" | "paddle-eval";

export interface GlobalRef {
  module: string;
  name: string;
  opcode: "GLOBAL" | "STACK_GLOBAL" | "INST";
  /** Byte offset of the opcode. */
  offset: number;
  /** known: in the constructor table; unknown: modelled as a stub; dangerous: runs code;
   *  paddle-eval: `builtins.eval` used only as Paddle's `eval('name', {'name': value})`. */
  status: GlobalStatus;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class GlobalPolicy {
  readonly globals: GlobalRef[] = [];
  private readonly evalRefs = new Map<PickleGlobal, GlobalRef>();
  private readonly usedEval = new Set<GlobalRef>();

  constructor(private readonly refuse: boolean, private readonly file: string | undefined) {}

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
      return g;
    }
    if (!known && isDangerousGlobal(mod, name)) {
      ref.status = "dangerous";
      if (this.refuse) this.unsafe(ref);
    }
    return resolveGlobal(mod, name);
  }

  isEval(v: PickleGlobal): boolean {
    return v instanceof PickleGlobal && this.evalRefs.has(v);
  }

  /** A call of builtins.eval; `where` names the calling opcode for the message. */
  callEval(g: PickleGlobal, args: PickleValue[], where: string, lookupAllowed = true): PickleValue {
    const ref = this.evalRefs.get(g)!;
    const [expr, scope] = args;
    if (lookupAllowed && args.length === 2 && typeof expr === "string" && IDENTIFIER.test(expr) &&
        scope instanceof PickleDict && scope.has(expr)) {
      this.usedEval.add(ref);
      return scope.get(expr)!;
    }
    ref.status = "dangerous";
    if (this.refuse) this.unsafe(ref, ` with arguments other than Paddle's eval('name', {'name': value}) (${where})`);
    return new PickleObject(g.module, g.name, args, "reduce");
  }

  /** builtins.eval referenced but never used as Paddle's lookup counts as dangerous. */
  finish(): void {
    for (const ref of this.evalRefs.values()) {
      if (ref.status !== "dangerous" && !this.usedEval.has(ref)) {
        ref.status = "dangerous";
        if (this.refuse) this.unsafe(ref, " (referenced but never used as Paddle's eval lookup)");
      }
    }
  }

  private unsafe(ref: GlobalRef, detail = ""): never {
    throw new WeightbridgeError("unsafe-pickle", `pickle calls ${ref.module}.${ref.name} (${ref.opcode} at byte ${ref.offset})${detail}`,
      { file: this.file, offset: ref.offset });
  }
}
