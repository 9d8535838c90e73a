// Spreading a long array into a call (`push(...items)`, `Math.max(...xs)`) passes every element
// as an argument and overflows the stack past ~120k elements: checkpoints hold 10^5-10^6 tensors.

/** Appends `items` to `target` in place; any length. */
export function appendAll<T>(target: T[], ...lists: ReadonlyArray<readonly T[]>): T[] {
  for (const items of lists) for (const item of items) target.push(item);
  return target;
}

/** The largest of `values` (and `atLeast`); any length. */
export function maxOf(values: Iterable<number>, atLeast = -Infinity): number {
  let max = atLeast;
  for (const v of values) if (v > max) max = v;
  return max;
}
