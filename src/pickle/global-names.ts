/**
 * Global names: Python 2 → 3 module renames, torch's storage/dtype naming, and the deny list
 * that marks a global as an attempt to run code.
 */
import type { DType } from "../tensor/dtype.js";

/** What `pickle` (fix_imports) and `torch.load` rename before resolving a global. */
const MODULE_RENAMES: Record<string, string> = {
  __builtin__: "builtins",
  copy_reg: "copyreg",
  "torch.tensor": "torch._tensor",
};

export function canonicalModule(module: string): string {
  return MODULE_RENAMES[module] ?? module;
}

/** Protocol < 3 pickles name Python 3 modules the Python 2 way (CPython's REVERSE_IMPORT_MAPPING). */
export function protocol2Module(module: string): string {
  if (module === "builtins") return "__builtin__";
  if (module === "copyreg") return "copy_reg";
  return module;
}

// ---- torch dtypes and storage classes ------------------------------------------------------------

/** Torch dtype names (and aliases) → canonical torch name. */
const TORCH_DTYPE_ALIASES: Record<string, string> = {
  float: "float32",
  double: "float64",
  half: "float16",
  long: "int64",
  int: "int32",
  short: "int16",
  cfloat: "complex64",
  cdouble: "complex128",
  chalf: "complex32",
};

const TORCH_DTYPE_NAMES = new Set([
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
  "complex32",
  "complex64",
  "complex128",
  "uint16",
  "uint32",
  "uint64",
  "float8_e4m3fn",
  "float8_e5m2",
  "float8_e4m3fnuz",
  "float8_e5m2fnuz",
  "float8_e8m0fnu",
  "float4_e2m1fn_x2",
  "qint8",
  "quint8",
  "qint32",
  "quint4x2",
  "quint2x4",
  "bits8",
  "bits16",
  "bits1x8",
  "bits2x4",
  "bits4x2",
  "int1",
  "int2",
  "int3",
  "int4",
  "int5",
  "int6",
  "int7",
  "uint1",
  "uint2",
  "uint3",
  "uint4",
  "uint5",
  "uint6",
  "uint7",
]);

const TORCH_TO_IR: Record<string, DType> = {
  float64: "float64",
  float32: "float32",
  float16: "float16",
  bfloat16: "bfloat16",
  int64: "int64",
  int32: "int32",
  int16: "int16",
  int8: "int8",
  uint8: "uint8",
  bool: "bool",
  complex64: "complex64",
  complex128: "complex128",
  uint16: "uint16",
  uint32: "uint32",
  uint64: "uint64",
  float8_e4m3fn: "float8_e4m3fn",
  float8_e5m2: "float8_e5m2",
};

/** `torch.<name>` as a dtype object: its canonical torch name, or undefined if `name` is not a dtype. */
export function torchDtypeName(name: string): string | undefined {
  const canonical = TORCH_DTYPE_ALIASES[name] ?? name;
  return TORCH_DTYPE_NAMES.has(canonical) ? canonical : undefined;
}

export function torchDtypeToIR(torchName: string): DType | undefined {
  return TORCH_TO_IR[torchName];
}

/** Storage class prefix (`Float` of `FloatStorage`, also C++ ScalarType names) → torch dtype name. */
const STORAGE_PREFIX_TO_TORCH: Record<string, string> = {
  Double: "float64",
  Float: "float32",
  Half: "float16",
  BFloat16: "bfloat16",
  Long: "int64",
  Int: "int32",
  Short: "int16",
  Char: "int8",
  Byte: "uint8",
  Bool: "bool",
  ComplexHalf: "complex32",
  ComplexFloat: "complex64",
  ComplexDouble: "complex128",
  QInt8: "qint8",
  QUInt8: "quint8",
  QInt32: "qint32",
  QUInt4x2: "quint4x2",
  QUInt2x4: "quint2x4",
  UInt16: "uint16",
  UInt32: "uint32",
  UInt64: "uint64",
  Float8_e4m3fn: "float8_e4m3fn",
  Float8_e5m2: "float8_e5m2",
  Float8_e4m3fnuz: "float8_e4m3fnuz",
  Float8_e5m2fnuz: "float8_e5m2fnuz",
  Float8_e8m0fnu: "float8_e8m0fnu",
};

/** The torch dtype name of a storage class name, "untyped" for UntypedStorage, undefined if not a storage class. */
export function storageClassDtype(module: string, name: string): string | undefined {
  if (module !== "torch" && module !== "torch.cuda") return undefined;
  if (name === "UntypedStorage" || name === "_UntypedStorage") return "untyped";
  const m = /^(\w+?)Storage$/.exec(name);
  if (!m) return undefined;
  return STORAGE_PREFIX_TO_TORCH[m[1]!] ?? m[1]!.toLowerCase();
}

/** The classic storage class name for an IR dtype (what torch 1.13 writes), if there is one. */
export function storageClassForDType(dtype: DType): string | undefined {
  for (const [prefix, torchName] of Object.entries(STORAGE_PREFIX_TO_TORCH)) {
    if (prefix.startsWith("Q") || prefix.startsWith("UInt") || prefix.startsWith("Float8") || prefix === "ComplexHalf") continue;
    if (TORCH_TO_IR[torchName] === dtype) return `${prefix}Storage`;
  }
  return undefined;
}

// ---- the deny list ---------------------------------------------------------------------------------

/** Modules (and their submodules) whose globals only make sense as a way to run code or touch the system. */
const DENIED_MODULES = [
  "os",
  "posix",
  "nt",
  "posixpath",
  "ntpath",
  "subprocess",
  "sys",
  "runpy",
  "importlib",
  "imp",
  "pkgutil",
  "zipimport",
  "pickle",
  "_pickle",
  "cPickle",
  "pickletools",
  "shelve",
  "marshal",
  "dill",
  "cloudpickle",
  "joblib",
  "shutil",
  "socket",
  "ssl",
  "select",
  "selectors",
  "asyncio",
  "ctypes",
  "_ctypes",
  "cffi",
  "pty",
  "tty",
  "termios",
  "fcntl",
  "resource",
  "signal",
  "webbrowser",
  "code",
  "codeop",
  "commands",
  "popen2",
  "platform",
  "multiprocessing",
  "threading",
  "_thread",
  "thread",
  "concurrent",
  "pdb",
  "bdb",
  "trace",
  "timeit",
  "profile",
  "cProfile",
  "operator",
  "_operator",
  "types",
  "inspect",
  "gc",
  "io",
  "_io",
  "tempfile",
  "glob",
  "fileinput",
  "distutils",
  "setuptools",
  "pip",
  "ensurepip",
  "venv",
  "http",
  "urllib",
  "urllib2",
  "requests",
  "httplib",
  "ftplib",
  "smtplib",
  "telnetlib",
  "xmlrpc",
  "email",
  "numpy.testing",
  "numpy.f2py",
  "numpy.distutils",
  "numpy.ctypeslib",
  "torch.hub",
  "torch.utils.cpp_extension",
  "torch.package",
  "torch._dynamo",
  "torch.cuda._utils",
  "_posixsubprocess",
  "sysconfig",
  "site",
  "atexit",
];

/** Names in otherwise harmless modules that load or run code. */
const DENIED_NAMES = new Set([
  "torch.load",
  "torch.jit.load",
  "torch.serialization.load",
  "torch._C._jit_pass_lint",
  "numpy.load",
  "numpy.lib.npyio.load",
  "numpy.fromfile",
  "numpy.loadtxt",
  "numpy.memmap",
  "functools.reduce",
]);

/** builtins that are plain data types; every other builtin (eval, exec, getattr, open, print ...) is denied. */
const SAFE_BUILTINS = new Set([
  "object",
  "int",
  "float",
  "complex",
  "str",
  "bytes",
  "bytearray",
  "bool",
  "tuple",
  "list",
  "dict",
  "set",
  "frozenset",
  "slice",
  "range",
  "NotImplemented",
  "Ellipsis",
  "long",
  "unicode",
]);

/**
 * builtins whose call computes on plain values and reaches nothing else (a pickle's own objects
 * are inert records; a class that could give them behaviour is flagged where it is referenced).
 */
const HARMLESS_BUILTIN_CALLS = new Set([
  "len",
  "abs",
  "min",
  "max",
  "sum",
  "round",
  "divmod",
  "ord",
  "chr",
  "bin",
  "oct",
  "hex",
  "sorted",
  "reversed",
  "enumerate",
  "zip",
  "isinstance",
  "all",
  "any",
]);

/** True for `builtins.len` and the like: calling it cannot run code. */
export function isHarmlessCall(module: string, name: string): boolean {
  return canonicalModule(module) === "builtins" && HARMLESS_BUILTIN_CALLS.has(name);
}

const RISKY_LAST_SEGMENTS = new Set(["system", "popen", "exec", "eval", "execfile", "spawn", "call", "run", "load", "loads"]);

/**
 * CPython's private modules (`_socket`, `_winapi`, `_imp`, `_frozen_importlib` ...) are the C halves
 * of the system-facing ones above: none holds a model's data type, so all are denied (the few
 * constructors weightbridge models, such as `_codecs.encode`, are in the known table and win).
 */
const PRIVATE_MODULE = /^_[A-Za-z0-9]/;

function deniedModule(mod: string): boolean {
  return PRIVATE_MODULE.test(mod) || DENIED_MODULES.some((m) => mod === m || mod.startsWith(`${m}.`));
}

/** True when referencing `module.name` can only serve to execute code or reach the system. */
export function isDangerousGlobal(module: string, name: string): boolean {
  const mod = canonicalModule(module);
  if (deniedModule(mod) || DENIED_NAMES.has(`${mod}.${name}`)) return true;
  const segments = name.split(".");
  if (mod === "builtins" && !(segments.length === 1 && (SAFE_BUILTINS.has(name) || HARMLESS_BUILTIN_CALLS.has(name)))) return true;
  if (segments.length > 1) {
    // Protocol 4 resolves dotted names by getattr: `torch` + `os.system` reaches os.system.
    if (segments.some((s) => s.startsWith("__") || deniedModule(s) || s === "builtins")) return true;
    if (RISKY_LAST_SEGMENTS.has(segments[segments.length - 1]!)) return true;
  }
  return false;
}
