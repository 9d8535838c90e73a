import { existsSync, renameSync, rmSync } from "node:fs";
import { pendingAsides, pendingTemporaries } from "../io/temporaries.js";

/** What a signal leaves behind, settled synchronously before the process exits. */
export function removeTemporaries(): void {
  // An old folder output renamed aside goes back when the new one has not taken its name yet.
  for (const { aside, final } of pendingAsides()) {
    try {
      if (existsSync(final)) rmSync(aside, { recursive: true, force: true });
      else renameSync(aside, final);
    } catch {
      // not moved yet, or already settled
    }
  }
  for (const temp of pendingTemporaries()) {
    try {
      // A temporary file, or a folder output (SavedModel) being written.
      rmSync(temp, { recursive: true, force: true });
    } catch {
      // already gone
    }
  }
}
