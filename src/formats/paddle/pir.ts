import type { ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";
import { fromUtf8 } from "../../util/bytes.js";
import { compareNames, type SavedVar } from "./program.js";

// Paddle 3 PIR programs (`.json`): `{"base_code": {"magic": "pir", ...}, "program": {"regions": ...}}`.
// Only the parameter list is read: every op `{"#": "p", "A": [..., "<name>"], "O": {"TT": {"#":
// "0.t_dtensor", "D": [{"#": "0.t_f32"}, [dims], ...]}}}`. Ops, attributes and layer kinds are not
// interpreted (no layer hints from PIR). The layout follows the project's reference notes and has
// not been checked against a file Paddle 3 wrote.

const MAX_PIR_BYTES = 1 << 30;

const PIR_DTYPES: Record<string, number> = {
  "0.t_bool": 0,
  "0.t_i16": 1,
  "0.t_i32": 2,
  "0.t_i64": 3,
  "0.t_f16": 4,
  "0.t_f32": 5,
  "0.t_f64": 6,
  "0.t_ui8": 20,
  "0.t_i8": 21,
  "0.t_bf16": 22,
  "0.t_c64": 23,
  "0.t_c128": 24,
  "0.t_f8e4m3fn": 32,
  "0.t_f8e5m2": 33,
};

export function looksLikePirJson(head: Uint8Array): boolean {
  let i = 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] !== 0x7b) return false;
  const text = fromUtf8(head.subarray(i, Math.min(head.length, i + 4096)));
  return /"base_code"\s*:\s*\{[^}]*"magic"\s*:\s*"pir"/.test(text);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paramName(attrs: Json): string | undefined {
  if (!Array.isArray(attrs)) return undefined;
  for (let i = attrs.length - 1; i >= 0; i--) {
    const a = attrs[i];
    if (typeof a === "string") return a;
    if (a && typeof a === "object" && !Array.isArray(a) && typeof a.D === "string") return a.D;
  }
  return undefined;
}

function describeResult(out: Json, saved: SavedVar): void {
  const result = Array.isArray(out) ? out[0] : out;
  if (!result || typeof result !== "object" || Array.isArray(result)) return;
  const tt = result.TT;
  if (!tt || typeof tt !== "object" || Array.isArray(tt) || !Array.isArray(tt.D)) return;
  const [dtype, dims] = tt.D;
  if (dtype && typeof dtype === "object" && !Array.isArray(dtype) && typeof dtype["#"] === "string") {
    const code = PIR_DTYPES[dtype["#"]];
    if (code !== undefined) saved.dataType = code;
  }
  if (Array.isArray(dims) && dims.every((d) => typeof d === "number")) saved.dims = dims as number[];
}

/** The parameters of a PIR program in .pdiparams record order (sorted by name). */
export async function readPirParameters(source: ByteSource): Promise<SavedVar[]> {
  const file = source.name;
  if (source.size > MAX_PIR_BYTES) throw new WeightbridgeError("unsupported", `PIR program of ${source.size} bytes is too large`, { file });
  let doc: Json;
  try {
    doc = JSON.parse(fromUtf8(await source.read(0, source.size)));
  } catch (e) {
    throw new WeightbridgeError("corrupt", `PIR program is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc) || !doc.program) {
    throw new WeightbridgeError("corrupt", "PIR program JSON has no 'program'", { file });
  }
  const found = new Map<string, SavedVar>();
  const stack: Json[] = [doc.program];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      for (const item of node) if (item && typeof item === "object") stack.push(item);
      continue;
    }
    if (!node || typeof node !== "object") continue;
    if (node["#"] === "p") {
      const name = paramName(node.A ?? null);
      if (name !== undefined && !found.has(name)) {
        const saved: SavedVar = { name, isParameter: true };
        describeResult(node.O ?? null, saved);
        found.set(name, saved);
      }
      continue;
    }
    for (const v of Object.values(node)) if (v && typeof v === "object") stack.push(v);
  }
  if (found.size === 0) {
    throw new WeightbridgeError("unsupported", "PIR program lists no parameters ('p' ops) weightbridge recognises", { file });
  }
  return [...found.values()].sort(compareNames);
}
