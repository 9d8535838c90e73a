import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Vitest global setup: every test file's temporary directories (mkdtemp under os.tmpdir()) go
 * into one directory for the run, removed when the run ends, so test runs leave nothing behind.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "weightbridge-test-"));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
