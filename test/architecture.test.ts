import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cycles, importGraph, roomOf, tsFiles, type Edge } from "./helpers/imports.js";

// The house's rules (TEAM.md, shared/DESIGN.md), checked on the imports of src/**/*.ts: data flows
// one way, so no room imports one that (directly or not) imports it back; a format folder knows no
// other format; verify never imports api (the library calls verify, not the other way round); io
// (bytes) knows nothing of tensors; outside formats/, a format is known by its descriptor
// (formats/index.ts, types.ts) and its public options (formats/*/options.ts), never its internals.
// Files do not import each other in a circle either, except declarations of mutually recursive
// types (every import of the circle `import type`).

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/** Imports that break a rule, one line each: "from -> to: why". */
function violations(edges: readonly Edge[]): string[] {
  const found: string[] = [];
  for (const { from, to } of edges) {
    const [a, b] = [roomOf(from), roomOf(to)];
    if (a === b) continue;
    if (a.startsWith("formats/") && b.startsWith("formats/") && !a.endsWith(".ts") && !b.endsWith(".ts"))
      found.push(`${from} -> ${to}: a format folder imports another`);
    if (a === "verify" && b === "api") found.push(`${from} -> ${to}: verify imports api`);
    if (a === "io" && b === "tensor") found.push(`${from} -> ${to}: io imports tensor`);
    if (!a.startsWith("formats/") && b.startsWith("formats/") && !b.endsWith(".ts") && !to.endsWith("/options.ts"))
      found.push(`${from} -> ${to}: names a format's internals (ask its descriptor, formats/index.ts)`);
  }
  const rooms = edges.map(({ from, to }) => ({ from: roomOf(from), to: roomOf(to) })).filter((e) => e.from !== e.to);
  for (const circle of cycles(rooms)) {
    const between = edges.filter((e) => circle.includes(roomOf(e.from)) && circle.includes(roomOf(e.to)) && roomOf(e.from) !== roomOf(e.to));
    found.push(`rooms ${circle.join(" <-> ")} import each other: ${between.map((e) => `${e.from} -> ${e.to}`).join(", ")}`);
  }
  for (const circle of cycles(edges)) {
    const inside = edges.filter((e) => circle.includes(e.from) && circle.includes(e.to));
    if (inside.every((e) => e.typeOnly)) continue;
    found.push(`files ${circle.join(" <-> ")} import each other: ${inside.map((e) => `${e.from} -> ${e.to}${e.typeOnly ? " (type)" : ""}`).join(", ")}`);
  }
  return found;
}

const edge = (from: string, to: string, typeOnly = false): Edge => ({ from, to, typeOnly });

describe("the house's import rules", () => {
  it("hold for src/", () => {
    const edges = importGraph(SRC);
    expect(edges.length).toBeGreaterThan(500);
    expect(violations(edges)).toEqual([]);
  });

  it("catch each kind of violation", () => {
    expect(violations([edge("formats/onnx/read.ts", "formats/pytorch/storage.ts")])).toEqual([
      "formats/onnx/read.ts -> formats/pytorch/storage.ts: a format folder imports another",
    ]);
    expect(violations([edge("formats/onnx/read.ts", "formats/types.ts", true), edge("formats/index.ts", "formats/onnx/format.ts")])).toEqual([]);
    expect(violations([edge("verify/index.ts", "api/report.ts", true)])).toEqual(["verify/index.ts -> api/report.ts: verify imports api"]);
    expect(violations([edge("io/zip-read.ts", "tensor/tensor.ts")])).toEqual(["io/zip-read.ts -> tensor/tensor.ts: io imports tensor"]);
    expect(violations([edge("api/torch-module.ts", "formats/pytorch/write.ts")])).toEqual([
      "api/torch-module.ts -> formats/pytorch/write.ts: names a format's internals (ask its descriptor, formats/index.ts)",
    ]);
    expect(violations([edge("api/convert.ts", "formats/index.ts"), edge("cli/convert.ts", "formats/gguf/options.ts", true)])).toEqual([]);
    expect(violations([edge("mapping/a.ts", "util/b.ts"), edge("util/c.ts", "mapping/d.ts", true)])).toEqual([
      "rooms mapping <-> util import each other: mapping/a.ts -> util/b.ts, util/c.ts -> mapping/d.ts",
    ]);
    expect(violations([edge("hdf5/h5.ts", "hdf5/raw-data.ts"), edge("hdf5/raw-data.ts", "hdf5/h5.ts", true)])).toEqual([
      "files hdf5/h5.ts <-> hdf5/raw-data.ts import each other: hdf5/h5.ts -> hdf5/raw-data.ts, hdf5/raw-data.ts -> hdf5/h5.ts (type)",
    ]);
    expect(violations([edge("pickle/values.ts", "pickle/typed.ts", true), edge("pickle/typed.ts", "pickle/values.ts", true)])).toEqual([]);
  });
});

// What a format is, is told by its descriptor (formats/types.ts Format, asked through knownFormat):
// outside formats/, no code compares a checkpoint's format or a descriptor's id with a literal id.
const FORMAT_ID_COMPARED = /(\bformat|\.id)\s*[!=]==?\s*["'`]|["'`][\w-]*["'`]\s*[!=]==?\s*[\w.?]*(\bformat|\.id)\b/;

/** Lines outside formats/ that compare a format (or a descriptor's id) with a literal: "file:line: text". */
function formatIdsCompared(files: ReadonlyArray<{ path: string; text: string }>): string[] {
  return files
    .filter((f) => !f.path.startsWith("formats/"))
    .flatMap((f) => f.text.split("\n").flatMap((line, i) => (FORMAT_ID_COMPARED.test(line) ? [`${f.path}:${i + 1}: ${line.trim()}`] : [])));
}

describe("format facts", () => {
  it("are asked of the descriptor, never by comparing ids outside formats/", () => {
    const files = tsFiles(SRC).map((file) => ({ path: relative(SRC, file).split("\\").join("/"), text: readFileSync(file, "utf8") }));
    expect(files.length).toBeGreaterThan(300);
    expect(formatIdsCompared(files)).toEqual([]);
  });

  it("catch each way of comparing", () => {
    const found = formatIdsCompared([
      { path: "api/a.ts", text: 'if (checkpoint.format === "keras") x();\nif (target.id !== "onnx") y();\nif ("tflite" === source.format) z();' },
      { path: "formats/keras/format.ts", text: 'if (format === "keras") return {};' },
      { path: "api/b.ts", text: "if (knownFormat(source.format)?.singleModel) x();" },
    ]);
    expect(found).toEqual([
      'api/a.ts:1: if (checkpoint.format === "keras") x();',
      'api/a.ts:2: if (target.id !== "onnx") y();',
      'api/a.ts:3: if ("tflite" === source.format) z();',
    ]);
  });
});

// What following a framework's conventions means is told by src/vocabulary/conventions.ts: outside
// formats/ and the vocabulary, no code compares a framework (or convention, or a mapping's from/to)
// with a literal framework or format id; it asks the convention's facts instead.
const FRAMEWORK_ID_COMPARED = /([fF]ramework|convention|from|to)\s*[!=]==\s*["'`](keras|pytorch|torch|paddle|onnx|tensorflow|tflite|gguf)["'`]/;

/** Lines outside formats/ and vocabulary/ that compare a framework with a literal id: "file:line: text". */
function frameworkIdsCompared(files: ReadonlyArray<{ path: string; text: string }>): string[] {
  return files
    .filter((f) => !f.path.startsWith("formats/") && !f.path.startsWith("vocabulary/"))
    .flatMap((f) => f.text.split("\n").flatMap((line, i) => (FRAMEWORK_ID_COMPARED.test(line) ? [`${f.path}:${i + 1}: ${line.trim()}`] : [])));
}

describe("convention facts", () => {
  it("are asked of the vocabulary, never by comparing framework ids outside formats/ and vocabulary/", () => {
    const files = tsFiles(SRC).map((file) => ({ path: relative(SRC, file).split("\\").join("/"), text: readFileSync(file, "utf8") }));
    expect(files.length).toBeGreaterThan(300);
    expect(frameworkIdsCompared(files)).toEqual([]);
  });

  it("catch each way of comparing", () => {
    const found = frameworkIdsCompared([
      {
        path: "verify/a.ts",
        text: 'if (side.framework === "keras") x();\nif (from !== "pytorch") y();\nif (report.to === "torch") z();\nif (inputs.sourceFramework !== "keras") w();',
      },
      { path: "formats/onnx/read.ts", text: 'if (framework === "onnx") return;' },
      { path: "vocabulary/conventions.ts", text: 'if (framework === "keras") return;' },
      { path: "verify/b.ts", text: 'if (CONVENTIONS[side.framework].attentionKernelsPerHead) x();\nconst toKeras = "keras";' },
    ]);
    expect(found).toEqual([
      'verify/a.ts:1: if (side.framework === "keras") x();',
      'verify/a.ts:2: if (from !== "pytorch") y();',
      'verify/a.ts:3: if (report.to === "torch") z();',
      'verify/a.ts:4: if (inputs.sourceFramework !== "keras") w();',
    ]);
  });
});
