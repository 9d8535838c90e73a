// Seeded inputs: the same seed gives the same numbers on every machine, so a verify run can be
// repeated exactly and both sides of a layer are fed the very same values.

/** A uniform [0, 1) generator (mulberry32) from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [-1, 1). */
export function uniformValues(n: number, random: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = random() * 2 - 1;
  return out;
}

/** A seed for one layer: the run's seed mixed with the layer's name (stable across runs). */
export function layerSeed(seed: number, name: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** `count` consecutive indices of `0..size-1` starting at a random place (all of them when count >= size). */
export function sampleBlock(size: number, count: number, random: () => number): number[] {
  if (count >= size) return Array.from({ length: size }, (_, i) => i);
  const start = Math.floor(random() * (size - count + 1));
  return Array.from({ length: count }, (_, i) => start + i);
}
