/** Builds pickle bytes by hand: strings are latin-1 text, numbers single bytes, arrays raw bytes. */
export function b(...parts: (string | number | number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") for (const ch of p) out.push(ch.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

export const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
export const u64 = (n: number) => [...u32(n), 0, 0, 0, 0];
