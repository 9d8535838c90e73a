import { UsageError } from "./output.js";

/** A repeatable string option as a list (yargs gives one string, or an array when repeated). */
export function listOf(v: string | string[] | undefined): string[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)];
}

/** A single-valued string option given more than once: the last one wins. */
export function lastOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.at(-1) : v;
}

/** The dtypes `--dtype` casts to, by their IR names and the short names users type. */
const DTYPE_ALIASES: Record<string, "float16" | "bfloat16" | "float32"> = {
  float16: "float16",
  fp16: "float16",
  half: "float16",
  bfloat16: "bfloat16",
  bf16: "bfloat16",
  float32: "float32",
  fp32: "float32",
  float: "float32",
};
export const DTYPE_CHOICES = Object.keys(DTYPE_ALIASES);

export function dtypeOf(v: string | string[] | undefined): "float16" | "bfloat16" | "float32" | undefined {
  const last = lastOf(v);
  if (last === undefined) return undefined;
  const dtype = DTYPE_ALIASES[last.toLowerCase()];
  if (!dtype) throw new UsageError(`--dtype: '${last}' is not one of ${DTYPE_CHOICES.join(", ")}`);
  return dtype;
}

interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

/**
 * A yargs coerce for a numeric flag: the last value given, checked against the rule, else a
 * usage error naming the flag (yargs itself turns `--seed abc` into NaN and says nothing).
 */
export function numberFlag(flag: string, rule: NumberRule): (v: unknown) => number | undefined {
  const wanted = [
    rule.integer ? "an integer" : "a number",
    rule.min !== undefined && rule.max !== undefined ? `from ${rule.min} to ${rule.max}` : rule.min !== undefined ? `≥ ${rule.min}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return (v) => {
    const last = Array.isArray(v) ? v.at(-1) : v;
    if (last === undefined) return undefined;
    const n = typeof last === "number" ? last : String(last).trim() === "" ? Number.NaN : Number(last);
    const ok =
      Number.isFinite(n) && (!rule.integer || Number.isInteger(n)) && (rule.min === undefined || n >= rule.min) && (rule.max === undefined || n <= rule.max);
    if (!ok) throw new UsageError(`--${flag}: expected ${wanted}${Number.isNaN(n) ? "" : `, not ${String(last)}`}`);
    return n;
  };
}

/** `--layer` specs, each checked (syntax, kind, regular expression) before any file is read. */
export function layerSpecsOf(check: (spec: string) => unknown): (v: unknown) => string[] | undefined {
  return (v) => {
    const specs = listOf(v as string | string[] | undefined);
    for (const spec of specs ?? []) check(spec);
    return specs;
  };
}
