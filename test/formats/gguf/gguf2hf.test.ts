import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, read, writeBytes } from "../../../src/index.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import { hasPythonModules, runPython } from "../../helpers/python.js";

const FIXTURES = join(__dirname, "../../../fixtures/gguf");
const TINY = join(FIXTURES, "tiny-llama.gguf");

describe("gguf2hf", () => {
  it("names every tensor of a llama GGUF as transformers does and puts Q/K rows back in its order", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "wb-gguf2hf-")), "model.safetensors");
    const report = await convert(TINY, out, { map: "gguf2hf" });
    expect(report.unmatched).toEqual([]);
    const converted = await read(out);
    expect(converted.tensors.map((t) => t.name)).toContain("model.layers.1.self_attn.k_proj.weight");
    const q = converted.tensors.find((t) => t.name === "model.layers.0.self_attn.q_proj.weight")!;
    const source = await read(TINY);
    const permuted = source.tensors.find((t) => t.name === "blk.0.attn_q.weight")!;
    const [a, b] = [new Float32Array((await q.data.read()).slice().buffer), new Float32Array((await permuted.data.read()).slice().buffer)];
    // 4 heads of 4 rows, 16 columns: HF row (h, i, j) is GGUF row (h, j, i).
    for (let h = 0; h < 4; h++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) expect(a[(h * 4 + i * 2 + j) * 16 + 3]).toBe(b[(h * 4 + j * 2 + i) * 16 + 3]);
      }
    }
    await converted.close();
    await source.close();
  });

  it("hf2gguf (head counts given with --layer) takes the transformers checkpoint back to the very same GGUF bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-hf2gguf-"));
    await convert(TINY, join(dir, "model.safetensors"), { map: "gguf2hf" });
    const report = await convert(join(dir, "model.safetensors"), join(dir, "back.gguf"), {
      map: "hf2gguf",
      layers: ["q_proj\\.weight$=linear(heads=4)", "k_proj\\.weight$=linear(heads=2)"],
    });
    expect(report.unmatched).toEqual([]);
    // The safetensors carried meta.gguf (metadata and its types), so the GGUF is the original file.
    expect(Buffer.from(readFileSync(join(dir, "back.gguf"))).equals(readFileSync(TINY))).toBe(true);
  });

  it("gemma2: 1 is taken off every norm weight (llama.cpp stores 1 + w) and the four norms per layer get transformers' names", async () => {
    const f32 = (...v: number[]) => bytesData(new Uint8Array(new Float32Array(v).buffer));
    const gguf = await writeBytes(
      {
        tensors: [
          makeTensor("token_embd.weight", "float32", [2, 2], f32(1, 2, 3, 4)),
          makeTensor("blk.0.attn_norm.weight", "float32", [2], f32(1.5, 0.25)),
          makeTensor("blk.0.post_attention_norm.weight", "float32", [2], f32(2, 1)),
          makeTensor("blk.0.ffn_norm.weight", "float32", [2], f32(1, 1)),
          makeTensor("blk.0.post_ffw_norm.weight", "float32", [2], f32(0, 3)),
          makeTensor("blk.0.attn_q.weight", "float32", [2, 2], f32(1, 2, 3, 4)),
          makeTensor("output_norm.weight", "float32", [2], f32(1.125, 1)),
        ],
        meta: { gguf: { metadata: { "general.architecture": "gemma2", "gemma2.attention.head_count": 1 }, types: {} } },
      },
      "gguf",
    );
    const dir = mkdtempSync(join(tmpdir(), "wb-gemma-"));
    const input = join(dir, "gemma.gguf");
    writeFileSync(input, gguf);
    const out = join(dir, "model.safetensors");
    const report = await convert(input, out, { map: "gguf2hf" });
    expect(report.unmatched).toEqual([]);
    const converted = await read(out);
    const values = async (name: string) => [...new Float32Array((await converted.tensors.find((t) => t.name === name)!.data.read()).slice().buffer)];
    expect(await values("model.layers.0.input_layernorm.weight")).toEqual([0.5, -0.75]);
    expect(await values("model.layers.0.post_attention_layernorm.weight")).toEqual([1, 0]);
    expect(await values("model.layers.0.pre_feedforward_layernorm.weight")).toEqual([0, 0]);
    expect(await values("model.layers.0.post_feedforward_layernorm.weight")).toEqual([-1, 2]);
    expect(await values("model.norm.weight")).toEqual([0.125, 0]);
    // gemma's Q/K rows are not permuted by llama.cpp's converter: kept as they are.
    expect(await values("model.layers.0.self_attn.q_proj.weight")).toEqual([1, 2, 3, 4]);
    await converted.close();
  });

  it.skipIf(!hasPythonModules("torch", "numpy"))(
    "the safetensors loads into a transformers-style Llama (strict=True) and computes the GGUF's logits",
    async () => {
      const out = join(mkdtempSync(join(tmpdir(), "wb-gguf2hf-")), "model.safetensors");
      await convert(TINY, out, { map: "gguf2hf" });
      const script = readFileSync(join(__dirname, "llama_logits.py"), "utf8");
      const result = JSON.parse(runPython(script, [TINY, out, join(FIXTURES, "tiny-llama.input.json")]));
      expect(result.format).toBe("pt");
      expect(result.logit_scale).toBeGreaterThan(0.1);
      expect(result.hf_vs_gguf_undone).toBe(0);
      // llama.cpp's own pairwise RoPE on the permuted rows computes the same up to float32 rounding.
      expect(result.hf_vs_gguf_native).toBeLessThan(1e-5);
    },
  );
});
