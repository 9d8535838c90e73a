import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, read, write, writeBytes } from "../../../src/index.js";
import type { JsonObject } from "../../../src/tensor/checkpoint.js";
import { bytesData, makeTensor } from "../../../src/tensor/tensor.js";

const FIXTURES = join(__dirname, "../../../fixtures/gguf");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function tensorBytes(file: Uint8Array | string) {
  const checkpoint = await read(file);
  const out: Record<string, { type: string; sha: string }> = {};
  const types = (checkpoint.meta.gguf as JsonObject).tensor_types as Record<string, string>;
  for (const t of checkpoint.tensors) {
    out[t.name] = { type: types[t.name]!, sha: sha(t.data.packed ? await t.data.packed.blocks.read() : await t.data.read()) };
  }
  await checkpoint.close?.();
  return out;
}

describe("GGUF writer", () => {
  const sources = [
    "real/llama-2-tiny-random.gguf",
    "real/ggml-vocab-llama-spm.gguf",
    "real/ggml-vocab-bert-bge.gguf",
    "metadata.gguf",
    "tiny-llama.gguf",
    ...readdirSync(join(FIXTURES, "types"))
      .filter((f) => f.endsWith(".gguf"))
      .map((f) => `types/${f}`),
  ];
  for (const name of sources) {
    it(`GGUF → GGUF is byte for byte the file gguf-py / llama.cpp wrote: ${name}`, async () => {
      const original = readFileSync(join(FIXTURES, name));
      const checkpoint = await read(join(FIXTURES, name));
      const written = await writeBytes(checkpoint, "gguf");
      await checkpoint.close?.();
      expect(Buffer.from(written).equals(original)).toBe(true);
    });
  }

  it("takes tokenizer, architecture and general keys from a --template GGUF, and then warns about nothing", async () => {
    const source = await read(join(FIXTURES, "quantize/input.safetensors"));
    const template = await read(join(FIXTURES, "tiny-llama.gguf"));
    const out = join(mkdtempSync(join(tmpdir(), "wb-gguf-")), "templated.gguf");
    const warnings = await write(source, out, { template, formatOptions: { gguf: { quantize: "Q8_0" } } });
    const written = await read(out);
    const metadata = (written.meta.gguf as JsonObject).metadata as JsonObject;
    const templateMeta = (template.meta.gguf as JsonObject).metadata as JsonObject;
    for (const key of ["general.architecture", "general.name", "llama.attention.head_count", "tokenizer.ggml.model", "tokenizer.ggml.tokens"]) {
      expect(metadata[key], key).toEqual(templateMeta[key]);
    }
    expect(metadata["general.file_type"]).toBe(7);
    expect(warnings).toEqual([]);
    await Promise.all([source.close(), template.close(), written.close()]);
  });

  it("convert --template model.gguf copies its metadata and maps no tensor onto the template's names or shapes", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "wb-gguf-")), "templated.gguf");
    const report = await convert(join(FIXTURES, "quantize/input.safetensors"), out, {
      template: join(FIXTURES, "tiny-llama.gguf"),
      formatOptions: { gguf: { quantize: "Q8_0" } },
    });
    const written = await read(out);
    expect(written.tensors.map((t) => t.name)).toEqual(Object.keys(JSON.parse(readFileSync(join(FIXTURES, "quantize/expected.json"), "utf8"))));
    expect(((written.meta.gguf as JsonObject).metadata as JsonObject)["tokenizer.ggml.model"]).toBe("llama");
    expect(report.warnings.join("\n")).not.toMatch(/lacks metadata/);
    await written.close();
  });

  it("warns when a tensor name is too long for llama.cpp (64 bytes with its NUL)", async () => {
    const name = `model.layers.0.${"x".repeat(60)}.weight`;
    const out = join(mkdtempSync(join(tmpdir(), "wb-gguf-")), "long.gguf");
    const warnings = await write({ tensors: [makeTensor(name, "float32", [2], bytesData(new Uint8Array(8)))], meta: {} }, out);
    expect(warnings.join("\n")).toMatch(/llama.cpp refuses tensor names of 64 bytes or more: model.layers.0.xxx/);
  });

  describe("safetensors → GGUF equals gguf-py's own conversion and ggml's reference quantizers on the same input", () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, "quantize/expected.json"), "utf8")) as Record<string, Record<string, string>>;
    const fallback: Record<string, string> = { Q4_K: "Q5_0", Q6_K: "Q8_0" };
    for (const type of ["F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"]) {
      it(type, async () => {
        const source = await read(join(FIXTURES, "quantize/input.safetensors"));
        const quantize = type === "F16" ? undefined : type;
        const out = join(mkdtempSync(join(tmpdir(), "wb-gguf-")), `out-${type}.gguf`);
        const warnings = await write(
          // F16: the tensors cast as `--dtype float16` casts them (round to nearest even, as numpy's astype).
          type === "F16"
            ? {
                ...source,
                tensors: await Promise.all(source.tensors.map(async (t) => makeTensor(t.name, "float16", t.shape, bytesData(await f16(t.data.read()))))),
              }
            : source,
          out,
          { formatOptions: { gguf: { quantize } } },
        );
        await source.close?.();
        const bytes = new Uint8Array(readFileSync(out));
        const got = await tensorBytes(bytes);
        let quantized = 0;
        for (const [name, want] of Object.entries(expected)) {
          const fits = (t: string) => want[`ref:${t}`] !== undefined;
          const wantType =
            type === "F16"
              ? "F16"
              : name.endsWith("_norm.weight")
                ? "F32"
                : fits(type)
                  ? type
                  : fallback[type] && fits(fallback[type]!)
                    ? fallback[type]!
                    : "F16";
          expect(got[name]!.type, name).toBe(wantType);
          if (wantType === "F16") expect(got[name]!.sha, name).toBe(want.F16);
          if (want[`ref:${wantType}`]) {
            expect(got[name]!.sha, `${name} ${wantType} (ggml reference)`).toBe(want[`ref:${wantType}`]);
            if (want[wantType]) expect(got[name]!.sha, `${name} ${wantType} (gguf-py)`).toBe(want[wantType]);
            quantized++;
          }
        }
        if (type !== "F16") expect(quantized).toBeGreaterThanOrEqual(2);
        const meta = (await read(bytes)).meta.gguf as JsonObject;
        const metadata = meta.metadata as JsonObject;
        expect(metadata["general.quantization_version"]).toBe(2);
        expect(metadata["general.file_type"]).toBe({ F16: 1, Q8_0: 7, Q4_0: 2, Q4_K: 14, Q6_K: 18 }[type]);
        expect(warnings.join("\n")).toMatch(/lacks metadata llama.cpp needs to run it: general.architecture, tokenizer.ggml.model, tokenizer.ggml.tokens/);
      });
    }
  });
});

/** float32 bytes → float16 bytes as numpy's astype rounds (nearest even). */
async function f16(bytes: Promise<Uint8Array>): Promise<Uint8Array> {
  const { castBytes } = await import("../../../src/kernels/cast.js");
  return castBytes(await bytes, "float32", "float16");
}
