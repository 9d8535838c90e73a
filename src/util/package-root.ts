/**
 * A file of weightbridge's own package (package.json, schemas/, dist/web/), by its path from the
 * package root. This module is two folders below the root (src/util/, dist/util/), as is the CLI
 * bundle dist/cli/main.js that inlines it (where import.meta.url is the bundle's) and the page's
 * dist/web/app.js: so "../../" is the root from all of them. test/package checks it still is.
 */
export function packageFile(path: string): URL {
  return new URL(`../../${path}`, import.meta.url);
}
