import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { importSpecifiers, tsFiles } from "../helpers/imports.js";

// The layering rule a new format relies on: a format folder (src/formats/<id>/) imports its own
// files, src/formats/types.ts and shared code outside src/formats, never another format's folder.
// Shared codecs live in src/protobuf, src/hdf5, src/numpy, src/io, src/tensor.

const FORMATS = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/formats");

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
