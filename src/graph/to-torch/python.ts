import type { DType } from "../../tensor/dtype.js";

// Python source literals: hyper-parameters are written as literals the reader can see, never
// as opaque blobs; floats round-trip (shortest repr that reads back as the same double).

const KEYWORDS = new Set([
  "False",
  "None",
  "True",
  "and",
  "as",
  "assert",
  "async",
  "await",
  "break",
  "class",
  "continue",
  "def",
  "del",
  "elif",
  "else",
  "except",
  "finally",
  "for",
  "from",
  "global",
  "if",
  "import",
  "in",
  "is",
  "lambda",
  "nonlocal",
  "not",
  "or",
  "pass",
  "raise",
  "return",
  "try",
  "while",
  "with",
  "yield",
  "self",
  "torch",
  "nn",
  "math",
  "super",
  "print",
  "input",
  "len",
  "range",
  "list",
  "tuple",
  "int",
  "float",
  "bool",
  "min",
  "max",
  "sum",
  "abs",
  "round",
  "type",
  "id",
  "map",
  "zip",
  "all",
  "any",
  "slice",
  "filter",
  "iter",
  "next",
  "open",
  "format",
  "hash",
  "object",
  "set",
  "dict",
  "str",
  "bytes",
  "sorted",
  "reversed",
  "enumerate",
  "divmod",
  "pow",
  "F",
]);

/** A Python identifier made from a source name: `/layer1/layer1.0/conv1/Conv` → `layer1_layer1_0_conv1_conv`. */
export function identifier(name: string, fallback: string): string {
  let id = name
    .replace(/[^A-Za-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
  if (id === "") id = fallback;
  if (/^\d/.test(id)) id = `${fallback}_${id}`;
  if (KEYWORDS.has(id)) id = `${id}_`;
  return id;
}

/**
 * A torch exporter's scoped name without its repetitions: `/layer1/layer1.0/conv1/Conv` →
 * `layer1.0/conv1` (a scope that prefixes the next is dropped; so is a last op-type segment
 * its scope already names, like `conv1/Conv` or `relu/Relu`).
 */
export function unscoped(name: string): string {
  const parts = name
    .replace(/_output_\d+$/, "")
    .split("/")
    .filter((p) => p !== "");
  const kept = parts.filter((p, i) => !(i + 1 < parts.length && parts[i + 1]!.startsWith(`${p}.`)));
  const last = kept.at(-1);
  const scope = kept.at(-2);
  if (last && scope && /^[A-Z][A-Za-z]*(_\d+)?$/.test(last) && scope.toLowerCase().includes(last.replace(/_\d+$/, "").toLowerCase())) kept.pop();
  return kept.join("/");
}

/** Hands out identifiers, each once. */
export class Names {
  private readonly used = new Set<string>();
  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.used.add(r);
  }
  take(name: string, fallback: string): string {
    const base = identifier(unscoped(name), fallback);
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    return id;
  }
}

/** A float literal; `math.inf`/`math.nan` for the non-finite ones (the caller imports math). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "math.nan";
  if (x === Infinity) return "math.inf";
  if (x === -Infinity) return "-math.inf";
  if (Object.is(x, -0)) return "-0.0";
  const text = String(x);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

export function pyInt(x: number): string {
  return String(Math.trunc(x));
}

export function pyList(items: readonly string[]): string {
  return `[${items.join(", ")}]`;
}

export function pyTuple(items: readonly string[]): string {
  return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
}

export function pyString(s: string): string {
  return JSON.stringify(s);
}

const TORCH_DTYPES: Partial<Record<DType, string>> = {
  float64: "torch.float64",
  float32: "torch.float32",
  float16: "torch.float16",
  bfloat16: "torch.bfloat16",
  int64: "torch.int64",
  int32: "torch.int32",
  int16: "torch.int16",
  int8: "torch.int8",
  uint8: "torch.uint8",
  bool: "torch.bool",
  complex64: "torch.complex64",
  complex128: "torch.complex128",
};

/** torch's name for a dtype, or undefined when torch 1.13 has none (uint16/32/64, float8). */
export function torchDtype(dtype: DType): string | undefined {
  return TORCH_DTYPES[dtype];
}

/** A literal value of `dtype`: ints for integer types, True/False for bool, floats otherwise. */
export function pyScalar(x: number, dtype: DType): string {
  if (dtype === "bool") return x ? "True" : "False";
  if (/^u?int/.test(dtype)) return pyInt(x);
  return dtype === "float32" ? pyFloat(shortestFloat32(x)) : pyFloat(x);
}

/** The shortest decimal that reads back as the same float32 (1e-05, not 0.000009999999747378752). */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let digits = 1; digits < 17; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === x) return candidate;
  }
  return x;
}

/** A nested list literal of `values` in `shape` (row-major). */
export function pyNested(values: readonly number[], shape: readonly number[], dtype: DType): string {
  if (shape.length === 0) return pyScalar(values[0]!, dtype);
  const walk = (offset: number, axis: number): string => {
    const size = shape[axis]!;
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const parts: string[] = [];
    for (let i = 0; i < size; i++) parts.push(axis === shape.length - 1 ? pyScalar(values[offset + i]!, dtype) : walk(offset + i * stride, axis + 1));
    return pyList(parts);
  };
  return walk(0, 0);
}
