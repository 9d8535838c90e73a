/** Generic traversal of the value model: children of a value, a cycle-safe nesting depth, a walk guard for readers. */
import { WeightbridgeError } from "../errors.js";
import { appendAll } from "../util/arrays.js";
import { NumpyArray, NumpyScalar, TorchParameter, TorchStorageRef, TorchTensorRef } from "./typed.js";
import { PersistentRef, PickleDict, PickleObject, PickleSet, PickleTuple, type PickleValue } from "./values.js";

/** The values directly contained in `v` (container items, constructor arguments, states). */
export function childValues(v: PickleValue): PickleValue[] {
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return [];
  if (Array.isArray(v)) return v;
  if (v instanceof PickleTuple) return v.items;
  if (v instanceof PickleSet) return v.items;
  if (v instanceof PickleDict) {
    const out: PickleValue[] = [];
    for (const [k, x] of v) out.push(k, x);
    if (v.attributes) out.push(v.attributes);
    return out;
  }
  if (v instanceof PickleObject) {
    const out: PickleValue[] = [...v.args];
    if (v.state !== undefined) out.push(v.state);
    for (const extra of [v.attrs, v.dictItems, v.kwargs]) if (extra) out.push(extra);
    if (v.listItems) appendAll(out, v.listItems);
    return out;
  }
  if (v instanceof TorchTensorRef) {
    const out: PickleValue[] = [v.storage, v.hooks];
    if (v.metadata !== undefined) out.push(v.metadata);
    if (v.state !== undefined) out.push(v.state);
    return out;
  }
  if (v instanceof TorchParameter) return v.state === undefined ? [v.data, v.hooks] : [v.data, v.hooks, v.state];
  if (v instanceof NumpyArray) return [...(v.dtype ? [v.dtype] : []), ...(v.objects ?? [])];
  if (v instanceof NumpyScalar) return [v.dtype];
  if (v instanceof PersistentRef || v instanceof TorchStorageRef) return [v.pid];
  return [];
}

/**
 * The longest chain of nested containers below `root` (a scalar is depth 0), stopping early once
 * `limit` is exceeded. Iterative, so hostile nesting cannot overflow the JS stack; cycles count once.
 */
export function nestingDepth(root: PickleValue, limit: number, onCycle?: (node: object) => void): number {
  const depth = new Map<object, number>();
  const onPath = new Set<object>();
  type Frame = { node: object; children: PickleValue[]; next: number; best: number };
  const stack: Frame[] = [];
  const enter = (v: PickleValue): number | undefined => {
    if (v === null || typeof v !== "object" || v instanceof Uint8Array) return 0;
    const known = depth.get(v);
    if (known !== undefined) return known;
    if (onPath.has(v)) {
      onCycle?.(v);
      return 0; // a cycle: the back edge adds nothing
    }
    onPath.add(v);
    stack.push({ node: v, children: childValues(v), next: 0, best: 0 });
    return undefined;
  };
  let result = enter(root);
  while (stack.length > 0) {
    if (stack.length > limit) return stack.length;
    const top = stack[stack.length - 1]!;
    if (top.next < top.children.length) {
      const d = enter(top.children[top.next++]!);
      if (d !== undefined) top.best = Math.max(top.best, d);
      continue;
    }
    stack.pop();
    onPath.delete(top.node);
    const d = top.best + 1;
    depth.set(top.node, d);
    if (stack.length > 0) {
      const parent = stack[stack.length - 1]!;
      parent.best = Math.max(parent.best, d);
    } else {
      result = d;
    }
  }
  return result ?? 0;
}

/** Container visits a walk may make beyond 8 per distinct container. */
const WALK_VISITS_BASE = 1_000_000;

/** Text a walk may put into its result beyond what the pickle stores once: room for honest repeats ("cpu", class names). */
const TEXT_HEADROOM = 64 * 1024 * 1024;

/**
 * Bounds a reader's walk over unpickled values: a pickle can share one container many times
 * (BINGET) or make one hold itself, so a naive walk can take exponential time or never end. The
 * guard knows the containers on the current path (a back edge is a cycle, not followed) and
 * allows a number of visits proportional to the distinct values (a tree has one visit per value).
 * Strings are bounded the same way: one 1 MiB string fetched from the memo 10,000 times is 10 GB
 * of metadata, so the text a walk emits may not pass a headroom plus 4x the distinct text.
 */
export class WalkGuard {
  private left: number;
  private textLeft: number;
  private readonly textLimit: number;
  private readonly onPath = new Set<object>();

  constructor(
    root: PickleValue,
    private readonly file?: string,
  ) {
    const distinct = distinctContent(root);
    this.left = WALK_VISITS_BASE + 8 * distinct.containers;
    this.textLimit = this.textLeft = TEXT_HEADROOM + 4 * distinct.textLength;
  }

  /** Call before visiting a container; false means it is on the current path (a cycle): do not descend. */
  enter(v: object): boolean {
    if (--this.left < 0) {
      throw new WeightbridgeError("corrupt", "the pickle's values expand into far more than they hold (shared or self-referential containers)", {
        file: this.file,
      });
    }
    if (this.onPath.has(v)) return false;
    this.onPath.add(v);
    return true;
  }

  leave(v: object): void {
    this.onPath.delete(v);
  }

  /** Call for each string the walk puts into its result (a value, a key, a name); returns it. */
  text<T extends string>(s: T): T {
    if ((this.textLeft -= s.length) < 0) {
      const mib = Math.round(this.textLimit / 2 ** 20);
      throw new WeightbridgeError(
        "corrupt",
        `the pickle's strings expand through shared references into more than ${mib} MiB of text (one string stored once, referenced many times)`,
        { file: this.file },
      );
    }
    return s;
  }
}

/** How many distinct container values are reachable from `root` (iterative, cycle-safe). */
export function distinctValues(root: PickleValue): number {
  return distinctContent(root).containers;
}

/** Distinct containers and the length of the distinct strings reachable from `root`. */
function distinctContent(root: PickleValue): { containers: number; textLength: number } {
  const seen = new Set<object>();
  const strings = new Set<string>();
  let textLength = 0;
  const stack: PickleValue[] = [root];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v === "string") {
      if (!strings.has(v)) {
        strings.add(v);
        textLength += v.length;
      }
      continue;
    }
    if (v === null || typeof v !== "object" || v instanceof Uint8Array || seen.has(v)) continue;
    seen.add(v);
    for (const child of childValues(v)) stack.push(child);
  }
  return { containers: seen.size, textLength };
}

/**
 * How many container visits a walk of `root` makes, counting a shared container once per
 * reference (a cycle's back edge adds nothing), stopping once it passes `limit`. A "billion
 * laughs" (a pair of the level below, forty levels deep; or memo references doubling each level)
 * is a few hundred bytes whose walk never ends.
 */
export function expandedVisits(root: PickleValue, limit: number): number {
  const size = new Map<object, number>();
  const onPath = new Set<object>();
  type Frame = { node: object; children: PickleValue[]; next: number; total: number };
  const stack: Frame[] = [];
  const enter = (v: PickleValue): number | undefined => {
    if (v === null || typeof v !== "object" || v instanceof Uint8Array) return 0;
    const known = size.get(v);
    if (known !== undefined) return known;
    if (onPath.has(v)) return 0;
    onPath.add(v);
    stack.push({ node: v, children: childValues(v), next: 0, total: 1 });
    return undefined;
  };
  let result = enter(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.total > limit) return top.total;
    if (top.next < top.children.length) {
      const s = enter(top.children[top.next++]!);
      if (s !== undefined) top.total += s;
      continue;
    }
    stack.pop();
    onPath.delete(top.node);
    size.set(top.node, top.total);
    if (stack.length > 0) stack[stack.length - 1]!.total += top.total;
    else result = top.total;
  }
  return result ?? 0;
}

/** The visits a WalkGuard allows a walk of `root`; more is an expansion attack readers refuse. */
export function walkBudget(root: PickleValue): number {
  return WALK_VISITS_BASE + 8 * distinctValues(root);
}
