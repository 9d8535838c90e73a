// node:os in the page.
export function availableParallelism(): number {
  return globalThis.navigator?.hardwareConcurrency ?? 1;
}
