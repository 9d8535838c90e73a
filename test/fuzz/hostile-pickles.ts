/**
 * Hand-made hostile pickles and the containers weightbridge reads them from. Every code-running
 * payload would create `marker` if any loader executed it, so a test can prove nothing ran.
 */
import { MemorySink } from "../../src/io/sink.js";
import { ZipWriter } from "../../src/io/zip-write.js";

type Part = string | number | number[] | Uint8Array;

/** Pickle bytes: strings are latin-1 opcodes/text, numbers single bytes, arrays raw bytes. */
export function b(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") for (const ch of p) out.push(ch.charCodeAt(0) & 0xff);
    else for (const x of p) out.push(x);
  }
  return Uint8Array.from(out);
}

const le = (n: number | bigint, width: number): number[] => {
  const out: number[] = [];
  let v = BigInt(n);
  for (let i = 0; i < width; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
};
/** BINUNICODE */
const str = (s: string): number[] => {
  const bytes = new TextEncoder().encode(s);
  return [0x58, ...le(bytes.length, 4), ...bytes];
};
/** SHORT_BINUNICODE */
const sstr = (s: string): number[] => [0x8c, s.length, ...new TextEncoder().encode(s)];

export interface Payload {
  name: string;
  /** Opcodes leaving exactly one value on the stack. */
  opcodes: Uint8Array;
}

/** Payloads that would run `touch marker` (or write it) in a loader that calls what it finds. */
export function codePayloads(marker: string): Payload[] {
  const cmd = `touch ${marker}`;
  const py = `open(${JSON.stringify(marker)}, 'w').close()`;
  return [
    { name: "GLOBAL os.system + REDUCE", opcodes: b("cos\nsystem\n", str(cmd), 0x85, "R") },
    { name: "STACK_GLOBAL posix.system + REDUCE", opcodes: b(sstr("posix"), sstr("system"), 0x93, str(cmd), 0x85, "R") },
    { name: "INST subprocess.call", opcodes: b("(", str("sh"), str("-c"), str(cmd), "l", "isubprocess\ncall\n") },
    { name: "OBJ os.system", opcodes: b("(cos\nsystem\n", str(cmd), "o") },
    { name: "NEWOBJ subprocess.Popen", opcodes: b("csubprocess\nPopen\n", "(", "(", str("sh"), str("-c"), str(cmd), "l", "t", 0x81) },
    { name: "NEWOBJ_EX subprocess.Popen", opcodes: b("csubprocess\nPopen\n", "(", "(", str("sh"), str("-c"), str(cmd), "l", "t", "}", 0x92) },
    { name: "REDUCE builtins.exec", opcodes: b("cbuiltins\nexec\n", str(py), 0x85, "R") },
    { name: "REDUCE __builtin__.eval", opcodes: b("c__builtin__\neval\n", str(py), 0x85, "R") },
    {
      name: "getattr(__import__('os'), 'system') nested in OrderedDict args",
      opcodes: b("ccollections\nOrderedDict\n(cbuiltins\ngetattr\n(cbuiltins\n__import__\n(", str("os"), "tR", str("system"), "tR", str(cmd), 0x85, "R", "tR"),
    },
    {
      name: "BUILD with __setstate__ state from os.system",
      opcodes: b("ccollections\nOrderedDict\n)R", "cos\nsystem\n", str(cmd), 0x85, "R", "b"),
    },
    { name: "BUILD dict that smuggles a callable", opcodes: b("ctorch._utils\n_rebuild_tensor_v2\n", "}", str("__reduce__"), "cos\nsystem\n", "s", "b") },
    { name: "copyreg._reconstructor of os.system", opcodes: b("ccopy_reg\n_reconstructor\n(cos\nsystem\n", "cbuiltins\nobject\n", "N", "tR") },
    { name: "torch-looking module path torch.os.system", opcodes: b(sstr("torch"), sstr("os.system"), 0x93, str(cmd), 0x85, "R") },
    { name: "nt.system (os on Windows)", opcodes: b("cnt\nsystem\n", str(cmd), 0x85, "R") },
    { name: "STACK_GLOBAL _posixsubprocess.fork_exec", opcodes: b(sstr("_posixsubprocess"), sstr("fork_exec"), 0x93, str(cmd), 0x85, "R") },
    { name: "pty.spawn", opcodes: b("cpty\nspawn\n", str(cmd), 0x85, "R") },
    { name: "EXT1 extension-registry callable", opcodes: b(0x82, 1, str(cmd), 0x85, "R") },
    { name: "persistent id whose type is os.system", opcodes: b("(", str("storage"), "cos\nsystem\n", str("0"), str("cpu"), "K", 1, "t", "Q") },
    {
      name: "numpy _reconstruct with os.system as the subtype",
      opcodes: b("cnumpy.core.multiarray\n_reconstruct\n(cos\nsystem\n", "K", 0, 0x85, "C", 1, "b", "tR"),
    },
  ];
}

/** Payloads that attack memory and time instead of running code. */
export function resourcePayloads(): Payload[] {
  const deep = 100_000;
  // A DAG of 64 levels, each a list holding the previous level twice: 2^64 paths, 200 bytes.
  const dag: Part[] = [0x5d, 0x94];
  for (let i = 0; i < 64; i++) dag.push("(", "h", i, "h", i, "l", 0x94);
  return [
    { name: "MARK nesting 100k deep", opcodes: b("(".repeat(deep), "N", "t".repeat(deep)) },
    { name: "list nesting 100k deep", opcodes: b("]".repeat(deep), "a".repeat(deep - 1)) },
    { name: "2^64-path memo DAG (billion laughs)", opcodes: b(...dag) },
    { name: "BINBYTES8 declaring 2^62 bytes", opcodes: b(0x8e, le(1n << 62n, 8), "abc") },
    { name: "BINUNICODE8 declaring 2^63-1 bytes", opcodes: b(0x8d, le((1n << 63n) - 1n, 8), "abc") },
    { name: "BINBYTES declaring 4 GiB", opcodes: b("B", le(0xffffffff, 4), "abc") },
    { name: "LONG4 declaring 2^31 bytes", opcodes: b(0x8b, le(0x7fffffff, 4), 1, 2, 3) },
    { name: "BINSTRING with a negative length", opcodes: b("T", le(0xfffffff0, 4), "abc") },
    { name: "FRAME declaring 2^60 bytes", opcodes: b(0x95, le(1n << 60n, 8), "N") },
    { name: "LONG_BINGET of a never-stored index", opcodes: b("j", le(0xffffffff, 4)) },
    { name: "memo index 2^32-1 PUT then huge GET text", opcodes: b("Nr", le(0xffffffff, 4), "g99999999999999999999999\n") },
    { name: "protocol-5 out-of-band buffer", opcodes: b(0x97) },
    { name: "protocol-5 READONLY_BUFFER", opcodes: b("C", 1, "x", 0x98) },
    { name: "tuple of 2^20 memo references", opcodes: b("]", 0x94, "(", "h\0".repeat(1 << 20), "t") },
  ];
}

/** A whole pickle (protocol 4) whose value is `{"weight": payload}`. */
export function plainPickle(payload: Payload): Uint8Array {
  return b(0x80, 4, "}", str("weight"), payload.opcodes, "s.");
}

/** A torch.save-shaped zip (archive/data.pkl, archive/version) around the pickle. */
export async function torchZip(pickleBytes: Uint8Array): Promise<Uint8Array> {
  const sink = new MemorySink();
  const zip = new ZipWriter(sink);
  await zip.add("archive/data.pkl", pickleBytes.byteLength, [pickleBytes]);
  await zip.add("archive/data/0", 16, [new Uint8Array(16)]);
  await zip.add("archive/version", 2, [b("3\n")]);
  await zip.finish();
  return sink.bytes();
}

/** The pre-1.6 torch.save stream: magic, protocol 1001, sys_info, the object, storage keys. */
export function legacyTorch(objectPickle: Uint8Array): Uint8Array {
  const magic = b(0x80, 2, 0x8a, 0x0a, [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], ".");
  const protocol = b(0x80, 2, "M", le(1001, 2), ".");
  const sysInfo = b(0x80, 2, "}", str("little_endian"), 0x88, "s.");
  const keys = b(0x80, 2, "].");
  return b(magic, protocol, sysInfo, objectPickle, keys);
}

/**
 * A torch zip whose tensor declares absurd geometry over a 16-byte storage: the reader must
 * refuse it from the numbers, never allocate what they claim.
 */
export function absurdTensorPickle(shape: number[], stride: number[], numel: number, key = "0"): Uint8Array {
  const tuple = (xs: number[]) => b("(", ...xs.map((x) => b(0x8a, 8, le(x, 8))), "t");
  return b(
    0x80,
    2,
    "}",
    str("w"),
    "ctorch._utils\n_rebuild_tensor_v2\n",
    "(",
    "(",
    str("storage"),
    "ctorch\nFloatStorage\n",
    str(key),
    str("cpu"),
    0x8a,
    8,
    le(numel, 8),
    "t",
    "Q",
    "K",
    0,
    tuple(shape),
    tuple(stride),
    0x89,
    "ccollections\nOrderedDict\n)R",
    "tR",
    "s.",
  );
}

/**
 * `{"weight": X}` where X holds one `size`-byte string `refs` times through the memo (BINGET):
 * `list` [s, s, ...], `dict` {"0": s, "1": s, ...}, `nested` [[s, s, ...], [same list], ...]
 * (refs lists sharing one list of 100), `keys` [{s: None}, {s: None}, ...]. The file
 * is about `size` bytes; walked naively it is `refs` x `size` of text.
 */
export function sharedStringPickle(refs: number, size: number, shape: "list" | "dict" | "nested" | "keys" = "list"): Uint8Array {
  const big = new Uint8Array([0x58, ...le(size, 4)]);
  const text = new Uint8Array(size).fill(0x78);
  const get = Uint8Array.from([0x68, 0]); // BINGET 0: the big string
  const parts: Uint8Array[] = [b(0x80, 4, "}", str("weight")), big, text, b(0x94)]; // memo 0 = s
  const open = shape === "dict" ? b("}(") : b("](");
  parts.push(b(0x30)); // POP: s stays in the memo only
  if (shape === "nested") {
    parts.push(b("](")); // the inner list: 100 x s
    for (let i = 0; i < 100; i++) parts.push(get);
    parts.push(b("e", 0x94, 0x30), b("]("), ...Array.from({ length: Math.ceil(refs / 100) }, () => b("h", 1)), b("e"));
  } else {
    parts.push(open);
    for (let i = 0; i < refs; i++) {
      if (shape === "list") parts.push(get);
      else if (shape === "dict") parts.push(b(str(String(i))), get);
      else parts.push(b("}"), get, b("Ns"));
    }
    parts.push(b(shape === "dict" ? "u" : "e"));
  }
  parts.push(b("s."));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
