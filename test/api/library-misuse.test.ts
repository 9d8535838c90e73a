import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convert, read, write } from "../../src/index.js";
import { WeightbridgeError } from "../../src/errors.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import type { DType } from "../../src/tensor/dtype.js";
import { fileSource } from "../../src/io/source.js";
import { MemorySink } from "../../src/io/sink.js";
import { openZip } from "../../src/io/zip-read.js";
import { ZipWriter } from "../../src/io/zip-write.js";
import { fixture } from "../helpers/fixtures.js";

// What used to escape as an internal error (TypeError, RangeError) or be accepted silently.

const work = mkdtempSync(join(tmpdir(), "wb-misuse-"));

function usage(run: () => unknown): WeightbridgeError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightbridgeError);
    expect((e as WeightbridgeError).code).toBe("usage");
    return e as WeightbridgeError;
  }
  throw new Error("was accepted");
}

describe("library options and tensors are validated", () => {
  it("makeTensor: an unknown dtype and a non-integer or negative shape are usage errors", () => {
    expect(usage(() => makeTensor("w", "float33" as DType, [1], bytesData(new Uint8Array(4)))).message).toMatch(/unknown dtype 'float33'/);
    expect(usage(() => makeTensor("w", "float32", [1.5], bytesData(new Uint8Array(6)))).message).toMatch(/non-negative integers/);
    usage(() => makeTensor("w", "float32", [-1], bytesData(new Uint8Array(0))));
    usage(() => makeTensor("w", "float32", [Number.NaN], bytesData(new Uint8Array(0))));
  });

  it.each([-5, 0, Number.NaN, 1.5, Infinity])("write: maxShardSize %s is refused, nothing written", async (size) => {
    const checkpoint = { tensors: [makeTensor("w", "float32", [1], bytesData(new Uint8Array(4)))], meta: {} };
    const out = join(work, `shards${String(size)}.safetensors`);
    await expect(write(checkpoint, out, { maxShardSize: size })).rejects.toThrow(/maxShardSize must be a positive whole number/);
  });
});

describe("a .keras config.json nested 200,000 levels deep", () => {
  it("is a corrupt error, not a stack overflow", async () => {
    const source = await fileSource(fixture("keras", "tfkeras213.keras"));
    const zip = await openZip(source);
    const sink = new MemorySink();
    const out = new ZipWriter(sink);
    const deep = new TextEncoder().encode(`${"[".repeat(200_000)}${"]".repeat(200_000)}`);
    for (const entry of zip.entries) {
      const bytes = entry.name === "config.json" ? deep : await zip.read(entry);
      await out.add(entry.name, bytes.byteLength, [bytes]);
    }
    await out.finish();
    await source.close();
    const path = join(work, "deep.keras");
    writeFileSync(path, sink.bytes());
    const error = await read(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WeightbridgeError);
    expect((error as WeightbridgeError).message).toMatch(/config\.json nests deeper than 1000 levels/);
  });
});

describe("a --keras-config or --hf-config file nested 200,000 levels deep", () => {
  const deep = () => {
    const path = join(work, "deep.json");
    writeFileSync(path, `${"[".repeat(200_000)}${"]".repeat(200_000)}`);
    return path;
  };

  it("--keras-config is a usage error naming the file, not a stack overflow", async () => {
    const path = deep();
    const error = await convert(fixture("keras", "real", "KERAS_conv2d_model_weights.h5"), join(work, "deep.pt"), { kerasConfig: path }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WeightbridgeError);
    expect((error as WeightbridgeError).code).toBe("usage");
    expect((error as WeightbridgeError).message).toMatch(/--keras-config: cannot read .*deep\.json as JSON \(the file nests deeper than 1000 levels\)/);
  });

  it("--hf-config is a usage error naming the file", async () => {
    const path = deep();
    const error = await convert(fixture("gguf", "real", "llama-2-tiny-random.gguf"), join(work, "deep.gguf"), { hfConfig: path }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WeightbridgeError);
    expect((error as WeightbridgeError).message).toMatch(/cannot read .*deep\.json as a Hugging Face config\.json \(the file nests deeper than 1000 levels\)/);
  });
});
