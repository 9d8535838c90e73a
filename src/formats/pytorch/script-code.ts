import { fromUtf8 } from "../../util/bytes.js";
import type { TorchArchive } from "./archive.js";

/** What a TorchScript class's generated source (`code/__torch__/....py`) declares. */
export interface ScriptClass {
  parameters: string[];
  buffers: string[];
  /** `Final` attributes baked into the code (`in_channels : Final[int] = 2`). */
  finals: Record<string, unknown>;
}

/**
 * Reads class declarations from an archive's code/ folder, one file per Python module:
 * `__torch__.a.b.C` lives in `code/__torch__/a/b.py` (the root module in `code/__torch__.py`).
 */
export class ScriptCode {
  private readonly files = new Map<string, Promise<Map<string, ScriptClass> | undefined>>();

  constructor(private readonly archive: TorchArchive) {}

  async classInfo(qualifiedName: string): Promise<ScriptClass | undefined> {
    const parts = qualifiedName.split(".");
    const className = parts.pop()!;
    const path = `code/${parts.join("/")}.py`;
    let file = this.files.get(path);
    if (!file) {
      const entry = this.archive.record(path);
      file = entry ? this.archive.zip.read(entry).then((b) => parseClasses(fromUtf8(b))) : Promise.resolve(undefined);
      this.files.set(path, file);
    }
    return (await file)?.get(className);
  }
}

const LIST = /^\s+(__parameters__|__buffers__) = \[(.*)\]\s*$/;
const FINAL = /^\s+(\w+) : Final\[.*\] = (.+)$/;

export function parseClasses(source: string): Map<string, ScriptClass> {
  const classes = new Map<string, ScriptClass>();
  let current: ScriptClass | undefined;
  for (const line of source.split("\n")) {
    const start = /^class (\w+)\(/.exec(line);
    if (start) {
      current = { parameters: [], buffers: [], finals: {} };
      classes.set(start[1]!, current);
      continue;
    }
    if (!current || /^\S/.test(line)) {
      if (/^\S/.test(line)) current = undefined;
      continue;
    }
    const list = LIST.exec(line);
    if (list) {
      const names = [...list[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
      if (list[1] === "__parameters__") current.parameters = names;
      else current.buffers = names;
      continue;
    }
    const final = FINAL.exec(line);
    if (final) current.finals[final[1]!] = literal(final[2]!.trim());
  }
  return classes;
}

/** Python literals the code generator writes for Final attributes: ints, floats, bools, strings, tuples of those. */
function literal(text: string): unknown {
  if (text === "True" || text === "False") return text === "True";
  if (text === "None") return null;
  if (/^-?\d+$/.test(text)) return Number(text);
  if (/^-?[\d.]+(e[-+]?\d+)?$/i.test(text)) return Number(text);
  const str = /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  if (str) return str[1];
  const tuple = /^\((.*)\)$/.exec(text);
  if (tuple)
    return tuple[1]!
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
      .map(literal);
  return text;
}
