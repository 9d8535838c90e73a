/** Deterministic byte mutations for fuzzing readers: every case is reproducible from (seed, file, n). */

/** mulberry32, the generator verify seeds its inputs with: every case is reproducible from its seed. */
export { seededRandom as rng } from "../../src/verify/random.js";

/** FNV-1a of a string, to derive a per-file seed that does not depend on the rest of the corpus. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export type MutationKind = "bitflip" | "truncate" | "length" | "run" | "splice";
export const MUTATION_KINDS: MutationKind[] = ["bitflip", "truncate", "length", "run", "splice"];

export interface Mutation {
  kind: MutationKind;
  bytes: Uint8Array;
  /** Human-readable account of what changed, for failure messages. */
  detail: string;
}

/** Values that make length/count/offset fields lie in interesting ways. */
function lyingValue(r: () => number, size: number): bigint {
  const choices = [
    0n,
    1n,
    0x7fn,
    0xffn,
    0x7fffn,
    0xffffn,
    0x7fffffffn,
    0xffffffffn,
    0x80000000n,
    BigInt(size),
    BigInt(size + 1),
    BigInt(size * 2),
    0x1fffffffffffffn,
    0x7fffffffffffffffn,
    0xffffffffffffffffn,
    BigInt(Math.floor(r() * size)),
  ];
  return choices[Math.floor(r() * choices.length)]!;
}

/** Picks an offset, biased towards the start and end of the file where headers and directories live. */
function pickOffset(r: () => number, size: number): number {
  const zone = r();
  if (zone < 0.35) return Math.floor(r() * Math.min(size, 256));
  if (zone < 0.55) return Math.max(0, size - 1 - Math.floor(r() * Math.min(size, 512)));
  return Math.floor(r() * size);
}

export function mutate(original: Uint8Array, kind: MutationKind, r: () => number): Mutation {
  const size = original.byteLength;
  const bytes = original.slice();
  if (size === 0) return { kind, bytes, detail: "empty" };
  switch (kind) {
    case "bitflip": {
      const flips = 1 + Math.floor(r() * 8);
      const at: number[] = [];
      for (let i = 0; i < flips; i++) {
        const o = pickOffset(r, size);
        bytes[o]! ^= 1 << Math.floor(r() * 8);
        at.push(o);
      }
      return { kind, bytes, detail: `flipped bits at ${at.join(",")}` };
    }
    case "truncate": {
      const keep = r() < 0.5 ? Math.floor(r() * size) : Math.max(0, size - 1 - Math.floor(r() * Math.min(size, 1024)));
      return { kind, bytes: bytes.subarray(0, keep), detail: `truncated to ${keep} of ${size}` };
    }
    case "length": {
      const width = [1, 2, 4, 8][Math.floor(r() * 4)]!;
      const o = Math.min(pickOffset(r, size), Math.max(0, size - width));
      const value = lyingValue(r, size);
      const big = r() < 0.2;
      for (let i = 0; i < width && o + i < size; i++) {
        const shift = BigInt(big ? (width - 1 - i) * 8 : i * 8);
        bytes[o + i] = Number((value >> shift) & 0xffn);
      }
      return { kind, bytes, detail: `wrote ${value} as ${width}-byte ${big ? "BE" : "LE"} at ${o}` };
    }
    case "run": {
      const length = 1 + Math.floor(r() * 64);
      const o = pickOffset(r, size);
      const fill = r() < 0.3 ? Math.floor(r() * 256) : -1;
      for (let i = o; i < Math.min(size, o + length); i++) bytes[i] = fill >= 0 ? fill : Math.floor(r() * 256);
      return { kind, bytes, detail: `overwrote ${length} bytes at ${o} with ${fill >= 0 ? `0x${fill.toString(16)}` : "random bytes"}` };
    }
    case "splice": {
      // Duplicate or delete a block: shifts every later offset, which lying offsets alone never do.
      const o = pickOffset(r, size);
      const length = Math.min(size - o, 1 + Math.floor(r() * 128));
      if (r() < 0.5) {
        const out = new Uint8Array(size - length);
        out.set(original.subarray(0, o));
        out.set(original.subarray(o + length), o);
        return { kind, bytes: out, detail: `deleted ${length} bytes at ${o}` };
      }
      const out = new Uint8Array(size + length);
      out.set(original.subarray(0, o + length));
      out.set(original.subarray(o), o + length);
      return { kind, bytes: out, detail: `duplicated ${length} bytes at ${o}` };
    }
  }
}
