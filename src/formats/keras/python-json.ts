import type { JsonValue } from "../../tensor/checkpoint.js";

/** JSON text with Python json.dumps' default separators and ASCII escaping. */
export function pythonJson(v: JsonValue): string {
  if (v === null || typeof v !== "object") {
    return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(", ")}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${pythonJson(k)}: ${pythonJson(x)}`)
    .join(", ")}}`;
}
