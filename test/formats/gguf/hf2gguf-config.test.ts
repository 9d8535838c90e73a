import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, read, writeBytes } from "../../../src/index.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";
import type { JsonObject } from "../../../src/tensor/checkpoint.js";
import { runCli } from "../../helpers/cli.js";

// hf2gguf takes the model's facts from its Hugging Face config.json (beside the input or
// --hf-config), else from the meta.gguf a gguf2hf output carries; --layer overrides them.

const TINY = join(__dirname, "../../../fixtures/gguf/tiny-llama.gguf");
const TINY_CONFIG = {
  model_type: "llama",
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  vocab_size: 32,
};

/** tiny-llama.gguf as a transformers checkpoint without meta.gguf (what save_pretrained writes), in a fresh folder. */
async function plainCheckpoint(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "wb-hf2gguf-config-"));
  await convert(TINY, join(dir, "with-meta.safetensors"), { map: "gguf2hf" });
  const converted = await read(join(dir, "with-meta.safetensors"));
  const tensors = await Promise.all(converted.tensors.map(async (t) => makeTensor(t.name, t.dtype, t.shape, bytesData((await t.data.read()).slice()))));
  await converted.close();
  writeFileSync(join(dir, "model.safetensors"), await writeBytes({ tensors, meta: { format: "pt" } }, "safetensors"));
  return dir;
}

async function tensorBytes(file: string): Promise<Map<string, Buffer>> {
  const c = await read(file);
  const out = new Map<string, Buffer>();
  for (const t of c.tensors) out.set(t.name, Buffer.from(await t.data.read()));
  await c.close();
  return out;
}

async function expectTinyTensors(file: string): Promise<void> {
  const [got, want] = [await tensorBytes(file), await tensorBytes(TINY)];
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [name, bytes] of want) expect(got.get(name)!.equals(bytes), name).toBe(true);
}

describe("hf2gguf: the model's facts", () => {
  it("from the config.json beside the input: head counts for the Q/K permutation and llama's architecture keys", async () => {
    const dir = await plainCheckpoint();
    writeFileSync(join(dir, "config.json"), JSON.stringify(TINY_CONFIG));
    const report = await convert(join(dir, "model.safetensors"), join(dir, "back.gguf"), { map: "hf2gguf" });
    expect(report.unmatched).toEqual([]);
    // Only the tokenizer is missing (no template given).
    expect(report.warnings.join("\n")).toMatch(/lacks metadata llama\.cpp needs to run it: tokenizer\.ggml\.model, tokenizer\.ggml\.tokens \(/);
    await expectTinyTensors(join(dir, "back.gguf"));
    const back = await read(join(dir, "back.gguf"));
    const gguf = back.meta.gguf as JsonObject;
    const metadata = gguf.metadata as JsonObject;
    expect(metadata["general.architecture"]).toBe("llama");
    expect(metadata["llama.attention.head_count"]).toBe(4);
    expect(metadata["llama.attention.head_count_kv"]).toBe(2);
    expect(metadata["llama.context_length"]).toBe(64);
    expect(metadata["llama.block_count"]).toBe(2);
    expect(metadata["llama.rope.dimension_count"]).toBe(4);
    expect(metadata["llama.attention.layer_norm_rms_epsilon"]).toBe(Math.fround(1e-5));
    expect((gguf.types as JsonObject)["llama.rope.freq_base"]).toBe("float32");
    await back.close();
  });

  it("--hf-config names the config; --layer still overrides its head counts", async () => {
    const dir = await plainCheckpoint();
    const elsewhere = join(mkdtempSync(join(tmpdir(), "wb-hf-config-")), "llama.json");
    writeFileSync(elsewhere, JSON.stringify({ ...TINY_CONFIG, num_attention_heads: 2, num_key_value_heads: 1 }));
    await convert(join(dir, "model.safetensors"), join(dir, "back.gguf"), {
      map: "hf2gguf",
      hfConfig: elsewhere,
      layers: ["q_proj\\.weight$=linear(heads=4)", "k_proj\\.weight$=linear(heads=2)"],
    });
    await expectTinyTensors(join(dir, "back.gguf"));
    // Without the override, the config's (wrong) head counts permute differently.
    await convert(join(dir, "model.safetensors"), join(dir, "wrong.gguf"), { map: "hf2gguf", hfConfig: elsewhere });
    const [wrong, right] = [await tensorBytes(join(dir, "wrong.gguf")), await tensorBytes(TINY)];
    expect(wrong.get("blk.0.attn_q.weight")!.equals(right.get("blk.0.attn_q.weight")!)).toBe(false);
  });

  it("CLI: convert --hf-config PATH, and a missing config file is one line, exit 2 (usage, as --keras-config)", async () => {
    const dir = await plainCheckpoint();
    const config = join(dir, "llama-config.json");
    writeFileSync(config, JSON.stringify(TINY_CONFIG));
    const ok = runCli(["convert", join(dir, "model.safetensors"), join(dir, "back.gguf"), "--map", "hf2gguf", "--hf-config", config, "-q"]);
    expect(ok.code, ok.stderr).toBe(0);
    await expectTinyTensors(join(dir, "back.gguf"));
    const missing = runCli(["convert", join(dir, "model.safetensors"), join(dir, "x.gguf"), "--map", "hf2gguf", "--hf-config", join(dir, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/nope\.json/);
  });

  it("from meta.gguf when a gguf2hf output is converted back: no --layer needed, the same GGUF bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-hf2gguf-meta-"));
    await convert(TINY, join(dir, "model.safetensors"), { map: "gguf2hf" });
    await convert(join(dir, "model.safetensors"), join(dir, "back.gguf"), { map: "hf2gguf" });
    expect(readFileSync(join(dir, "back.gguf")).equals(readFileSync(TINY))).toBe(true);
  });

  it("refuses a llama checkpoint when neither a config.json, meta.gguf nor --layer gives the head counts", async () => {
    const dir = await plainCheckpoint();
    await expect(convert(join(dir, "model.safetensors"), join(dir, "back.gguf"), { map: "hf2gguf" })).rejects.toThrow(/heads/);
  });

  it("refuses an --hf-config whose model_type has no GGUF architecture, and one that is not JSON", async () => {
    const dir = await plainCheckpoint();
    writeFileSync(join(dir, "bert.json"), JSON.stringify({ model_type: "bert" }));
    await expect(convert(join(dir, "model.safetensors"), join(dir, "x.gguf"), { map: "hf2gguf", hfConfig: join(dir, "bert.json") })).rejects.toThrow(
      /model_type 'bert' has no GGUF architecture/,
    );
    writeFileSync(join(dir, "broken.json"), "{");
    await expect(convert(join(dir, "model.safetensors"), join(dir, "x.gguf"), { map: "hf2gguf", hfConfig: join(dir, "broken.json") })).rejects.toThrow(
      /cannot read .*broken\.json as a Hugging Face config\.json/,
    );
  });
});

describe("gemma norms: llama.cpp stores 1 + w", () => {
  const f32 = (...v: number[]) => bytesData(new Uint8Array(new Float32Array(v).buffer));
  const values = async (file: string, name: string) => {
    const c = await read(file);
    const out = [...new Float32Array((await c.tensors.find((t) => t.name === name)!.data.read()).slice().buffer)];
    await c.close();
    return out;
  };

  it("hf2gguf adds 1 to every gemma norm (config.json model_type gemma), gguf2hf takes it off again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-gemma-hf-"));
    const checkpoint = {
      tensors: [
        makeTensor("model.embed_tokens.weight", "float32", [2, 2], f32(1, 2, 3, 4)),
        makeTensor("model.layers.0.input_layernorm.weight", "float32", [2], f32(0.5, -0.75)),
        makeTensor("model.layers.0.post_attention_layernorm.weight", "float32", [2], f32(0, 2)),
        makeTensor("model.layers.0.self_attn.q_proj.weight", "float32", [2, 2], f32(1, 2, 3, 4)),
        makeTensor("model.norm.weight", "float32", [2], f32(0.125, 0)),
      ],
      meta: {},
    };
    writeFileSync(join(dir, "model.safetensors"), await writeBytes(checkpoint, "safetensors"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "gemma", num_attention_heads: 1, num_key_value_heads: 1, hidden_size: 2 }));
    const gguf = join(dir, "gemma.gguf");
    const report = await convert(join(dir, "model.safetensors"), gguf, { map: "hf2gguf" });
    expect(report.unmatched).toEqual([]);
    expect(await values(gguf, "blk.0.attn_norm.weight")).toEqual([1.5, 0.25]);
    expect(await values(gguf, "blk.0.ffn_norm.weight")).toEqual([1, 3]);
    expect(await values(gguf, "output_norm.weight")).toEqual([1.125, 1]);
    // gemma's Q rows are not permuted by llama.cpp's converter.
    expect(await values(gguf, "blk.0.attn_q.weight")).toEqual([1, 2, 3, 4]);
    const c = await read(gguf);
    expect(((c.meta.gguf as JsonObject).metadata as JsonObject)["general.architecture"]).toBe("gemma");
    await c.close();

    const back = join(dir, "back.safetensors");
    await convert(gguf, back, { map: "gguf2hf" });
    expect(await values(back, "model.layers.0.input_layernorm.weight")).toEqual([0.5, -0.75]);
    expect(await values(back, "model.layers.0.post_attention_layernorm.weight")).toEqual([0, 2]);
    expect(await values(back, "model.norm.weight")).toEqual([0.125, 0]);
  });

  it("gemma2: the four norms per layer go back to their GGUF names with 1 added (architecture from meta.gguf)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-gemma2-"));
    const norms = ["attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"];
    const gguf = await writeBytes(
      {
        tensors: [
          makeTensor("token_embd.weight", "float32", [2, 2], f32(1, 2, 3, 4)),
          ...norms.map((n, i) => makeTensor(`blk.0.${n}.weight`, "float32", [2], f32(1 + i, 0.5))),
          makeTensor("output_norm.weight", "float32", [2], f32(1.125, 1)),
        ],
        meta: { gguf: { metadata: { "general.architecture": "gemma2", "gemma2.attention.head_count": 1 }, types: {} } },
      },
      "gguf",
    );
    writeFileSync(join(dir, "in.gguf"), gguf);
    await convert(join(dir, "in.gguf"), join(dir, "model.safetensors"), { map: "gguf2hf" });
    await convert(join(dir, "model.safetensors"), join(dir, "back.gguf"), { map: "hf2gguf" });
    for (const [i, n] of norms.entries()) expect(await values(join(dir, "back.gguf"), `blk.0.${n}.weight`)).toEqual([1 + i, 0.5]);
    expect(await values(join(dir, "back.gguf"), "output_norm.weight")).toEqual([1.125, 1]);
  });
});
