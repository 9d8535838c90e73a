import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

// The import graph of src/, parsed from the sources (no bundler or TypeScript API needed): what
// test/architecture.test.ts and test/formats/layering.test.ts check the house's rules on.

/** Every module specifier in a TypeScript file: static imports/exports and dynamic import(). */
export function importSpecifiers(text: string): string[] {
  return imports(text).map((i) => i.specifier);
}

/** An import of a file; `typeOnly` when it can never run (`import type`, `export type ... from`). */
export interface Import {
  specifier: string;
  typeOnly: boolean;
}

export function imports(text: string): Import[] {
  const found: Import[] = [];
  for (const m of text.matchAll(/\b(import|export)\b([^;"'`]*?)\bfrom\s*["']([^"']+)["']/g)) {
    found.push({ specifier: m[3]!, typeOnly: /^\s*type\b/.test(m[2]!) });
  }
  for (const m of text.matchAll(/\bimport\s*["']([^"']+)["']/g)) found.push({ specifier: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) found.push({ specifier: m[1]!, typeOnly: false });
  return found;
}

export function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** One file's import of another, both as paths relative to the root (`formats/onnx/read.ts`). */
export interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** The relative imports between the .ts files under `root` (`./x.js` names `x.ts`). */
export function importGraph(root: string): Edge[] {
  const edges: Edge[] = [];
  for (const file of tsFiles(root)) {
    for (const { specifier, typeOnly } of imports(readFileSync(file, "utf8"))) {
      if (!specifier.startsWith(".")) continue;
      const to = relative(root, resolve(dirname(file), specifier)).replace(/\.js$/, ".ts");
      edges.push({ from: relative(root, file).split(sep).join("/"), to: to.split(sep).join("/"), typeOnly });
    }
  }
  return edges;
}

/**
 * The room a src/ file lives in: its top folder (`mapping`, `verify`), except that each format
 * folder is a room of its own (`formats/onnx`) and a loose file (`formats/types.ts`, `index.ts`) is one.
 */
export function roomOf(path: string): string {
  const parts = path.split("/");
  if (parts.length === 1) return path;
  if (parts[0] === "formats") return parts.length > 2 ? `formats/${parts[1]}` : path;
  return parts[0]!;
}

/** The strongly connected components of more than one node (each an import cycle), by Tarjan's algorithm. */
export function cycles(edges: ReadonlyArray<{ from: string; to: string }>): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (from === to) continue;
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}
