import type { ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";
import { PickleDict, unpickle } from "../../pickle/index.js";

/** One entry of a `.pdiparams.info` sidecar (paddle.jit.save): what a framework variable is called in the layer. */
export interface VarInfo {
  structuredName?: string;
  stopGradient?: boolean;
  trainable?: boolean;
}

const MAX_INFO_BYTES = 256 << 20;

/** Parses `{framework_name: {"structured_name", "stop_gradient", "trainable"}}` (a protocol-2 pickle). */
export async function readVarInfo(source: ByteSource): Promise<Map<string, VarInfo>> {
  const file = source.name;
  if (source.size > MAX_INFO_BYTES) throw new WeightbridgeError("unsupported", `.pdiparams.info of ${source.size} bytes is implausibly large`, { file });
  const value = unpickle(await source.read(0, source.size), { name: file });
  if (!(value instanceof PickleDict)) throw new WeightbridgeError("corrupt", ".pdiparams.info is not a dict", { file });
  const out = new Map<string, VarInfo>();
  for (const [key, entry] of value) {
    if (typeof key !== "string") throw new WeightbridgeError("corrupt", ".pdiparams.info has a non-string key", { file });
    const info: VarInfo = {};
    if (entry instanceof PickleDict) {
      const s = entry.get("structured_name");
      const g = entry.get("stop_gradient");
      const t = entry.get("trainable");
      if (typeof s === "string") info.structuredName = s;
      if (typeof g === "boolean") info.stopGradient = g;
      if (typeof t === "boolean") info.trainable = t;
    }
    out.set(key, info);
  }
  return out;
}
