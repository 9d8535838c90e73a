import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, read, writeBytes } from "../../../src/index.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { JsonObject } from "../../../src/tensor/checkpoint.js";

// A GGUF's vocabulary does not go into a safetensors header (foreign-meta.ts): a 150k-token one
// would be megabytes of JSON (the Hub's reader refuses headers above 25 MB, safetensors above
// 100 MB). It is left out with a record and a warning, and --template brings it back.

const TOKENS = 150_000;

async function bigVocabularyGguf(dir: string): Promise<string> {
  const f32 = (...v: number[]) => bytesData(new Uint8Array(new Float32Array(v).buffer));
  const tokens = Array.from({ length: TOKENS }, (_, i) => `▁token${i}`);
  const metadata: JsonObject = {
    "general.architecture": "qwen2",
    "general.name": "big-vocabulary",
    "qwen2.block_count": 1,
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": Array.from({ length: TOKENS }, (_, i) => -i / 8),
    "tokenizer.ggml.token_type": Array.from({ length: TOKENS }, (_, i) => (i < 3 ? 3 : 1)),
    "tokenizer.ggml.merges": Array.from({ length: TOKENS }, (_, i) => `▁tok en${i}`),
    "tokenizer.ggml.bos_token_id": 1,
  };
  const types = {
    "general.architecture": "string",
    "general.name": "string",
    "qwen2.block_count": "uint32",
    "tokenizer.ggml.model": "string",
    "tokenizer.ggml.tokens": "array[string]",
    "tokenizer.ggml.scores": "array[float32]",
    "tokenizer.ggml.token_type": "array[int32]",
    "tokenizer.ggml.merges": "array[string]",
    "tokenizer.ggml.bos_token_id": "uint32",
  };
  const gguf = await writeBytes(
    {
      tensors: [
        makeTensor("token_embd.weight", "float32", [2, 2], f32(1, 2, 3, 4)),
        makeTensor("blk.0.attn_q.weight", "float32", [2, 2], f32(5, 6, 7, 8)),
        makeTensor("output_norm.weight", "float32", [2], f32(1, 0.5)),
      ],
      meta: { gguf: { version: 3, metadata, types } },
    },
    "gguf",
  );
  const path = join(dir, "big.gguf");
  writeFileSync(path, gguf);
  return path;
}

describe("a GGUF's vocabulary and a safetensors header", () => {
  it("150k tokens: the long arrays are left out of the header (named in meta.gguf.omitted and a warning), --template restores the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-gguf-vocab-"));
    const input = await bigVocabularyGguf(dir);
    const out = join(dir, "model.safetensors");
    const report = await convert(input, out, { map: "gguf2hf" });
    expect(report.warnings.join("\n")).toMatch(/left out of .*model\.safetensors.*tokenizer\.ggml\.tokens \(150000 values\).*--template/);
    const headerLength = Number(readFileSync(out).readBigUInt64LE(0));
    expect(headerLength).toBeLessThan(64 << 10);

    const converted = await read(out);
    const gguf = converted.meta.gguf as JsonObject;
    expect(gguf.omitted).toEqual({
      "tokenizer.ggml.tokens": TOKENS,
      "tokenizer.ggml.scores": TOKENS,
      "tokenizer.ggml.token_type": TOKENS,
      "tokenizer.ggml.merges": TOKENS,
    });
    // Everything else is kept, with its type.
    expect((gguf.metadata as JsonObject)["tokenizer.ggml.bos_token_id"]).toBe(1);
    expect((gguf.types as JsonObject)["tokenizer.ggml.bos_token_id"]).toBe("uint32");
    await converted.close();

    const back = join(dir, "back.gguf");
    await convert(out, back, { map: "hf2gguf", layers: ["q_proj\\.weight$=linear(heads=0)"], template: input });
    // The same metadata (the template's keys come after the source's own) and tensors.
    const [a, b] = [await read(back), await read(input)];
    const sorted = (c: typeof a) => {
      const g = c.meta.gguf as JsonObject;
      const keys = Object.keys(g.metadata as JsonObject).sort();
      return JSON.stringify(keys.map((k) => [k, (g.metadata as JsonObject)[k], (g.types as JsonObject)[k]]));
    };
    expect(sorted(a) === sorted(b)).toBe(true);
    expect(a.tensors.length).toBe(b.tensors.length);
    for (const [i, t] of a.tensors.entries()) expect(Buffer.from(await t.data.read()).equals(Buffer.from(await b.tensors[i]!.data.read()))).toBe(true);
    await a.close();
    await b.close();
  });
});
