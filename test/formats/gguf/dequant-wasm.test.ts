import { describe, expect, it, vi } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { read } from "../../../src/index.js";
import { decodeGgmlBlocks, decodeGgmlBlocksJs } from "../../../src/formats/gguf/packed-data.js";
import { dequantWasm, hasWasmDequant, type DequantTarget } from "../../../src/formats/gguf/dequant/wasm.js";
import { ggmlTypeByName } from "../../../src/formats/gguf/ggml-types.js";
import { castTensor } from "../../../src/kernels/cast-tensor.js";

// The WebAssembly dequantizers must give the JavaScript decoders' bytes (which the gguf-py
// fixtures pin), for float32 and for float16/bfloat16 (JS: float32 then the cast).

const TYPES = join(__dirname, "../../../fixtures/gguf/types");
const WASM_TYPES = ["Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"];
const TARGETS: DequantTarget[] = ["float32", "float16", "bfloat16"];
const expected = JSON.parse(readFileSync(join(TYPES, "expected.json"), "utf8")) as Record<string, unknown>;

function both(type: string, blocks: Uint8Array, to: DequantTarget): { wasm: Buffer; js: Buffer } {
  const t = ggmlTypeByName(type)!;
  const values = (blocks.byteLength / t.typeSize) * t.blockSize;
  const wasm = new Uint8Array(values * (to === "float32" ? 4 : 2));
  expect(dequantWasm(type, blocks, wasm, to)).toBe(true);
  const js = decodeGgmlBlocksJs(t, blocks, new Uint8Array(wasm.length), to);
  return { wasm: Buffer.from(wasm), js: Buffer.from(js) };
}

/** Float16 scale patterns that matter: ±0, subnormals, the largest finite, ±Inf, NaNs of both signs. */
const SPECIAL_HALVES = [0x0000, 0x8000, 0x0001, 0x03ff, 0x8200, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x7c01, 0x3c00, 0x0400];

/** `count` random blocks (a fixed seed), their float16 scales at `halves` drawn from random and special patterns. */
function randomBlocks(type: string, count: number, seed: number): Uint8Array {
  const t = ggmlTypeByName(type)!;
  const bytes = new Uint8Array(count * t.typeSize);
  let x = seed;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 16;
  };
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 255;
  const halves = type === "Q6_K" ? [208] : type.endsWith("_K") ? [0, 2] : [0];
  for (let b = 0; b < count; b++) {
    for (const at of halves) {
      if (next() % 3 === 0) {
        const h = SPECIAL_HALVES[next() % SPECIAL_HALVES.length]!;
        bytes[b * t.typeSize + at] = h & 255;
        bytes[b * t.typeSize + at + 1] = h >> 8;
      }
    }
  }
  return bytes;
}

describe.skipIf(!hasWasmDequant("Q4_K"))("WebAssembly GGUF dequantizers", () => {
  for (const type of WASM_TYPES) {
    it(`${type}: the fixture's blocks give the JavaScript decoder's bytes, as float32, float16 and bfloat16`, async () => {
      expect(type in expected).toBe(true);
      const checkpoint = await read(join(TYPES, `${type}.gguf`));
      const blocks = await checkpoint.tensors[0]!.data.packed!.blocks.read();
      for (const to of TARGETS) {
        const { wasm, js } = both(type, blocks, to);
        expect(wasm.equals(js), `${type} → ${to}`).toBe(true);
      }
      await checkpoint.close?.();
    });

    it(`${type}: random blocks with zero, subnormal, infinite and NaN scales give the same bytes`, () => {
      // 3000 blocks: more than one kernel call's worth, and not a multiple of it.
      const blocks = randomBlocks(type, type.endsWith("_K") ? 300 : 3000, 7 + type.length);
      for (const to of TARGETS) {
        const { wasm, js } = both(type, blocks, to);
        expect(wasm.equals(js), `${type} → ${to}`).toBe(true);
      }
    });
  }

  it("a Q4_K tensor cast to float16 decodes straight to float16, the bytes of float32 then the cast", async () => {
    const checkpoint = await read(join(TYPES, "Q4_K.gguf"));
    const t = checkpoint.tensors[0]!;
    const direct16 = vi.spyOn(t.data as { castTo(dtype: string): unknown }, "castTo");
    const half = castTensor(t, "float16");
    expect(direct16).toHaveBeenCalledWith("float16");
    expect(half.data).toBe(direct16.mock.results[0]!.value);
    expect(half.dtype).toBe("float16");
    expect(half.data.packed).toBeUndefined();
    const direct = Buffer.from(await half.data.read());
    expect(direct.length).toBe(t.data.byteLength / 2);
    const viaFloat32 = Buffer.from(decodeGgmlBlocksJs(ggmlTypeByName("Q4_K")!, await t.data.packed!.blocks.read(), new Uint8Array(direct.length), "float16"));
    expect(direct.equals(viaFloat32)).toBe(true);
    const pieces: Uint8Array[] = [];
    for await (const piece of half.data.chunks(1000)) pieces.push(piece.slice());
    expect(Buffer.concat(pieces).equals(direct)).toBe(true);
    // Streamed pieces are views of the kernels' memory, each valid until the next is asked for.
    const streamed: Uint8Array[] = [];
    for await (const piece of half.data.streamChunks!(2048)) streamed.push(piece.slice());
    expect(Buffer.concat(streamed).equals(direct)).toBe(true);
    const floats: Uint8Array[] = [];
    for await (const piece of t.data.streamChunks!(1 << 20)) floats.push(piece.slice());
    expect(Buffer.concat(floats).equals(Buffer.from(await t.data.read()))).toBe(true);
    await checkpoint.close?.();
  });

  it("a type without a kernel falls back to JavaScript", () => {
    const t = ggmlTypeByName("Q3_K")!;
    const blocks = randomBlocks("Q3_K", 4, 3);
    expect(dequantWasm("Q3_K", blocks, new Uint8Array(4 * 256 * 4), "float32")).toBe(false);
    const out = Buffer.from(decodeGgmlBlocks(t, blocks, "float16"));
    expect(out.equals(Buffer.from(decodeGgmlBlocksJs(t, blocks, new Uint8Array(out.length), "float16")))).toBe(true);
  });
});
