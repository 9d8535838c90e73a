import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../../src/index.js";
import type { JsonObject, JsonValue } from "../../../src/tensor/checkpoint.js";

const FIXTURES = join(__dirname, "../../../fixtures/gguf");

interface ReaderView {
  keys: Record<string, { types: string[]; value?: JsonValue; length?: number; digest?: string }>;
  tensors: Array<{ name: string; type: string; shape: number[]; sha256: string }>;
}

/** gguf-py's field.types (["ARRAY", "ARRAY", "INT32"]) as weightbridge names the type. */
function typeName(types: string[]): string {
  const [first, ...rest] = types;
  return first === "ARRAY" ? `array[${rest.length > 0 ? typeName(rest) : "?"}]` : first!.toLowerCase();
}

/** The digest generate.py's list_digest computes: strings as UTF-8 + NUL, numbers as float64. */
function listDigest(values: JsonValue[]): string {
  const hash = createHash("sha256");
  for (const v of values) {
    if (typeof v === "string") hash.update(Buffer.concat([Buffer.from(v, "utf8"), Buffer.from([0])]));
    else {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(v));
      hash.update(b);
    }
  }
  return hash.digest("hex");
}

async function expectSameAsGgufPy(file: string): Promise<void> {
  const view = JSON.parse(readFileSync(file.replace(/\.gguf$/, ".ggufpy.json"), "utf8")) as ReaderView;
  const checkpoint = await read(file);
  expect(checkpoint.format).toBe("gguf");
  const gguf = checkpoint.meta.gguf as JsonObject;
  const metadata = gguf.metadata as JsonObject;
  const types = gguf.types as Record<string, string>;
  expect(Object.keys(metadata)).toEqual(Object.keys(view.keys));
  for (const [key, want] of Object.entries(view.keys)) {
    expect(types[key], key).toBe(typeName(want.types));
    if (want.digest !== undefined) {
      const got = metadata[key] as JsonValue[];
      expect(got.length, key).toBe(want.length);
      expect(listDigest(got), key).toBe(want.digest);
    } else if (want.types.filter((t) => t === "ARRAY").length > 1) {
      // gguf-py's contents() flattens arrays of arrays; the nesting is checked below.
      expect((metadata[key] as JsonValue[]).flat(Infinity), key).toEqual(want.value);
    } else {
      expect(metadata[key], key).toEqual(want.value);
    }
  }
  expect(checkpoint.tensors.map((t) => t.name)).toEqual(view.tensors.map((t) => t.name));
  for (const [i, want] of view.tensors.entries()) {
    const t = checkpoint.tensors[i]!;
    expect(t.shape, t.name).toEqual(want.shape);
    expect((gguf.tensor_types as Record<string, string>)[t.name]).toBe(want.type);
    const bytes = t.data.packed ? await t.data.packed.blocks.read() : await t.data.read();
    expect(createHash("sha256").update(bytes).digest("hex"), t.name).toBe(want.sha256);
  }
  await checkpoint.close?.();
}

describe("GGUF reader agrees with gguf-py's GGUFReader", () => {
  it("on the real llama-2-tiny-random.gguf written by llama.cpp's converter (v3, 32k vocabulary, F16/F32)", async () => {
    await expectSameAsGgufPy(join(FIXTURES, "real/llama-2-tiny-random.gguf"));
  });

  it("on llama.cpp's vocabulary-only models/ggml-vocab-llama-spm.gguf (SentencePiece: 32k tokens, scores, token types)", async () => {
    await expectSameAsGgufPy(join(FIXTURES, "real/ggml-vocab-llama-spm.gguf"));
  });

  it("on llama.cpp's vocabulary-only models/ggml-vocab-bert-bge.gguf (WordPiece, bert architecture keys)", async () => {
    await expectSameAsGgufPy(join(FIXTURES, "real/ggml-vocab-bert-bge.gguf"));
  });

  it("on every metadata value type, 64-bit extremes, nested arrays and a 64-byte alignment", async () => {
    await expectSameAsGgufPy(join(FIXTURES, "metadata.gguf"));
    const checkpoint = await read(join(FIXTURES, "metadata.gguf"));
    const metadata = (checkpoint.meta.gguf as JsonObject).metadata as JsonObject;
    expect(metadata["t.nested"]).toEqual([[1, 2], [3]]);
    expect(metadata["t.nested_str"]).toEqual([["x"], ["y", "z"]]);
    expect(metadata["t.u64"]).toBe("18446744073709551615");
    expect(checkpoint.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ["a", "float32", [2, 3]],
      ["b", "int16", [5]],
      ["c", "float16", [2, 2, 2]],
      ["d", "float64", [2]],
    ]);
    expect([...new Float32Array((await checkpoint.tensors[0]!.data.read()).slice().buffer)]).toEqual([0, 1, 2, 3, 4, 5]);
    await checkpoint.close?.();
  });
});
