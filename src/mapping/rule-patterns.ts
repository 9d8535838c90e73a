import { WeightbridgeError } from "../errors.js";

/** Groups captured by a rule's name and path regexes. */
export interface Captures {
  positional: string[];
  named: Record<string, string>;
}

const FILTERS: Record<string, (s: string, arg: string) => string> = {
  dots: (s) => s.replaceAll("/", "."),
  slashes: (s) => s.replaceAll(".", "/"),
  default: (s, arg) => (s === "" ? arg : s),
  prefix: (s, arg) => (s === "" ? "" : arg + s),
};

/**
 * Expands a rename template: `$1`, `${1}`, `${group}`, `${attr:NAME}` (a layer attribute, e.g. the
 * ONNX recurrent `layer` index), `$$` for a dollar sign, and filters
 * `${1|dots}` (`/`→`.`), `${1|slashes}` (`.`→`/`), `${1|default:0}` (when the group is empty),
 * `${1|prefix:_l}` (prepended when the group is not empty). An unknown group is an error; a
 * group that did not take part in the match is empty.
 */
export function expandTemplate(template: string, caps: Captures, context: string): string {
  return template.replace(/\$(\$|\d|\{([^}|]+)((?:\|[^}|]*)*)\})/g, (_all, simple: string, braced?: string, filters?: string) => {
    if (simple === "$") return "$";
    const key = braced ?? simple;
    let value: string;
    if (/^\d+$/.test(key)) {
      const i = Number(key);
      if (i >= caps.positional.length)
        throw new WeightbridgeError("mapping", `${context}: template '${template}' uses group ${i}, the regex has ${caps.positional.length - 1}`);
      value = caps.positional[i] ?? "";
    } else {
      if (!(key in caps.named)) throw new WeightbridgeError("mapping", `${context}: template '${template}' uses unknown group '${key}'`);
      value = caps.named[key] ?? "";
    }
    for (const spec of (filters ?? "").split("|").slice(1)) {
      const colon = spec.indexOf(":");
      const name = colon < 0 ? spec : spec.slice(0, colon);
      const f = FILTERS[name];
      if (!f) throw new WeightbridgeError("mapping", `${context}: unknown template filter '|${name}' (use dots, slashes, default:X, prefix:X)`);
      value = f(value, colon < 0 ? "" : spec.slice(colon + 1));
    }
    return value;
  });
}

/** The groups of the name and path matches, and the layer's number and string attributes as `attr:NAME`. */
export function capturesOf(match: RegExpExecArray, path?: RegExpExecArray | null, attributes: Record<string, unknown> = {}): Captures {
  const named: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === "number" || typeof value === "string") named[`attr:${key}`] = String(value);
  }
  return {
    positional: Array.from(match, (m) => m ?? ""),
    named: { ...named, ...(path?.groups ?? {}), ...(match.groups ?? {}) } as Record<string, string>,
  };
}

/** Compiles a user regex with a clear error. */
export function compileRegex(source: string, where: string): RegExp {
  try {
    return new RegExp(source);
  } catch (e) {
    throw new WeightbridgeError("mapping", `${where}: invalid regular expression '${source}': ${(e as Error).message}`);
  }
}
