import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

// The layering rule a new format relies on: a format folder (src/formats/<id>/) imports its own
// files, src/formats/types.ts and shared code outside src/formats, never another format's folder.
// Shared codecs live in src/protobuf, src/hdf5, src/numpy, src/io, src/tensor.

const FORMATS = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/formats");

/** Every module specifier in a TypeScript file: static imports/exports and dynamic import(). */
export function importSpecifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!);
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The format folder a path is in ("" for files directly in src/formats, undefined outside it). */
function formatFolder(path: string): string | undefined {
  const rel = relative(FORMATS, path);
  if (rel.startsWith("..")) return undefined;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0] : "";
}

describe("format folders", () => {
  it("finds the specifiers of every kind of import", () => {
    const text = `import a from "./a.js";\nimport type { B } from "../b.js";\nexport { c } from "./c.js";\nimport "./d.js";\nconst e = await import("../e.js");\nimport {\n  f,\n} from "../../f.js";`;
    expect(importSpecifiers(text).sort()).toEqual(["../../f.js", "../b.js", "../e.js", "./a.js", "./c.js", "./d.js"]);
  });

  it("never import another format's folder", () => {
    const files = tsFiles(FORMATS).filter((f) => formatFolder(f));
    expect(files.length).toBeGreaterThan(50);
    const crossings: string[] = [];
    for (const file of files) {
      const own = formatFolder(file)!;
      for (const spec of importSpecifiers(readFileSync(file, "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = formatFolder(resolve(dirname(file), spec));
        const allowed = target === undefined || target === own || (target === "" && spec.endsWith("/types.js"));
        if (!allowed) crossings.push(`${relative(FORMATS, file)} imports ${spec}`);
      }
    }
    expect(crossings).toEqual([]);
  });
});
