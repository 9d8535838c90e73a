/** Temporary files not yet committed or disposed: the CLI removes them when a signal stops it. */
const live = new Set<string>();
/** Old folder outputs renamed aside (aside → final name) while a new one takes their name. */
const asides = new Map<string, string>();

export function trackTemporary(path: string): void {
  live.add(path);
}

export function untrackTemporary(path: string): void {
  live.delete(path);
}

export function pendingTemporaries(): string[] {
  return [...live];
}

export function trackAside(aside: string, final: string): void {
  asides.set(aside, final);
}

export function untrackAside(aside: string): void {
  asides.delete(aside);
}

/** What a signal must settle: each aside goes back to its final name when that is empty, else it is removed. */
export function pendingAsides(): Array<{ aside: string; final: string }> {
  return [...asides].map(([aside, final]) => ({ aside, final }));
}
