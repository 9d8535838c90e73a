import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../../src/index.js";
import { BLOCK_DECODERS } from "../../../src/formats/gguf/dequant/index.js";

const TYPES = join(__dirname, "../../../fixtures/gguf/types");
const expected = JSON.parse(readFileSync(join(TYPES, "expected.json"), "utf8")) as Record<
  string,
  { tensor: string; shape: number[]; blocks_sha256: string; float32_sha256: string }
>;
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("GGUF block types decode exactly as gguf-py's numpy dequantizers", () => {
  for (const [type, want] of Object.entries(expected)) {
    it(type, async () => {
      const checkpoint = await read(join(TYPES, `${type}.gguf`));
      const [t] = checkpoint.tensors;
      expect(t!.name).toBe(want.tensor);
      expect(t!.dtype).toBe("float32");
      expect(t!.shape).toEqual(want.shape);
      expect(t!.data.packed?.scheme).toBe(`ggml:${type}`);
      expect(sha(await t!.data.packed!.blocks.read())).toBe(want.blocks_sha256);
      expect(sha(await t!.data.read())).toBe(want.float32_sha256);
      // Streaming in small pieces gives the same bytes.
      const hash = createHash("sha256");
      for await (const piece of t!.data.chunks(1500)) hash.update(piece);
      expect(hash.digest("hex")).toBe(want.float32_sha256);
      await checkpoint.close?.();
    });
  }

  it("covers every decodable type with a fixture, except the two gguf-py cannot decode", () => {
    const untested = Object.keys(BLOCK_DECODERS).filter((t) => !(t in expected));
    expect(untested.sort()).toEqual(["Q8_1", "Q8_K"]);
  });

  it("Q8_1 and Q8_K (no numpy dequantizer): d·q from ggml-common.h's block layouts", () => {
    // block_q8_1: half d, half s (= d·Σq, unused), int8 qs[32].
    const q81 = new Uint8Array(36);
    q81.set([0x00, 0x38, 0xff, 0x7b]); // d = 0.5, s = 65504
    for (let j = 0; j < 32; j++) q81[4 + j] = (j * 9 - 100) & 255;
    const out81 = new Float32Array(32);
    BLOCK_DECODERS.Q8_1!(q81, out81);
    expect([...out81]).toEqual(Array.from({ length: 32 }, (_, j) => ((((j * 9 - 100) & 255) << 24) >> 24) * 0.5));
    // block_q8_K: float d, int8 qs[256], int16 bsums[16] (unused).
    const q8k = new Uint8Array(292);
    new DataView(q8k.buffer).setFloat32(0, 0.1, true);
    for (let j = 0; j < 256; j++) q8k[4 + j] = (j * 7) & 255;
    const out8k = new Float32Array(256);
    BLOCK_DECODERS.Q8_K!(q8k, out8k);
    const d = Math.fround(0.1);
    expect([...out8k]).toEqual(Array.from({ length: 256 }, (_, j) => Math.fround(d * ((((j * 7) & 255) << 24) >> 24))));
  });
});
