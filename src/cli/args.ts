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
