import { readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The committed fixtures: the only place tests read model files from, so a fresh clone runs
 * the suite with nothing beside it. Real framework-written files sit in `<format>/real/` with
 * a PROVENANCE.md row each.
 */
export const FIXTURES = join(import.meta.dirname, "../../fixtures");

/** A path below fixtures/: `fixture("keras", "real", "hgq_jet_classifier.h5")`. */
export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/** The one naming scheme for what a fixture must read as: `<file>.expected.json` beside `<file>`. */
export const EXPECTED_SUFFIX = ".expected.json";

/** Every `<file>` under fixtures/ (relative path) that has a `<file>.expected.json` beside it, sorted. */
export function fixturesWithExpected(): string[] {
  return (readdirSync(FIXTURES, { recursive: true }) as string[])
    .filter((name) => name.endsWith(EXPECTED_SUFFIX))
    .map((name) => name.slice(0, -EXPECTED_SUFFIX.length))
    .sort();
}
