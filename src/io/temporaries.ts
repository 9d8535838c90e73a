/** Temporary files not yet committed or disposed: the CLI removes them when a signal stops it. */
const live = new Set<string>();

export function trackTemporary(path: string): void {
  live.add(path);
}

export function untrackTemporary(path: string): void {
  live.delete(path);
}

export function pendingTemporaries(): string[] {
  return [...live];
}
