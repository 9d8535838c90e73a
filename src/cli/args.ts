/** A repeatable string option as a list (yargs gives one string, or an array when repeated). */
export function listOf(v: string | string[] | undefined): string[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)];
}

/** A single-valued string option given more than once: the last one wins. */
export function lastOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.at(-1) : v;
}
