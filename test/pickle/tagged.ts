/** The tagged JSON form of fixtures/pickle/tagged.py, computed from unpickled values, for exact comparisons. */
import { PickleDict, PickleSet, PickleTuple, PyByteArray, PyComplex, PyFloat, type PickleValue } from "../../src/pickle/index.js";

export type Tagged = null | boolean | string | Tagged[] | { [tag: string]: unknown };

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Python's repr() of a float, for the finite values the fixtures use. */
function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Object.is(x, -0)) return "-0.0";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  const s = String(x);
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

function floatTag(x: number): Tagged {
  const r = floatRepr(x);
  return { $float: r };
}

/** `floatsAsInts`: plain numbers that are integers are ints (the default unpickle mode). */
export function tagged(v: PickleValue, seen: Set<object> = new Set()): Tagged {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "bigint") return { $int: v.toString() };
  if (typeof v === "number") return Number.isInteger(v) && !Object.is(v, -0) ? { $int: String(v) } : floatTag(v);
  if (v instanceof PyFloat) return floatTag(v.value);
  if (v instanceof PyComplex) return { $complex: [floatTag(v.real), floatTag(v.imag)] };
  if (v instanceof PyByteArray) return { $bytearray: hex(v.bytes) };
  if (v instanceof Uint8Array) return { $bytes: hex(v) };
  if (seen.has(v)) return { $cycle: true };
  const inner = new Set(seen).add(v);
  if (Array.isArray(v)) return v.map((x) => tagged(x, inner));
  if (v instanceof PickleTuple) return { $tuple: v.items.map((x) => tagged(x, inner)) };
  if (v instanceof PickleSet) {
    const items = v.items.map((x) => tagged(x, inner));
    items.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    return { [v.frozen ? "$frozenset" : "$set"]: items };
  }
  if (v instanceof PickleDict) {
    return { [v.ordered ? "$odict" : "$dict"]: [...v].map(([k, x]) => [tagged(k, inner), tagged(x, inner)]) };
  }
  throw new Error(`no tagged form for ${String(v)}`);
}

/** Sorts set items the way the Python side does (by repr is not reproducible here, so both sides are re-sorted by JSON). */
export function normalizeSets(t: unknown): unknown {
  if (Array.isArray(t)) return t.map(normalizeSets);
  if (t && typeof t === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t)) {
      const n = normalizeSets(v);
      out[k] = (k === "$set" || k === "$frozenset") && Array.isArray(n) ? [...n].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : n;
    }
    return out;
  }
  return t;
}
