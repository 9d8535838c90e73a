import { describe, expect, it } from "vitest";
import { bfloat16BitsFromNumber, castBytes, float16BitsFromNumber, numberFromBfloat16Bits, numberFromFloat16Bits } from "../../src/kernels/cast.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

describe("float16", () => {
  it("encodes known values with round-to-nearest-even", () => {
    expect(float16BitsFromNumber(1.5)).toBe(15872);
    expect(float16BitsFromNumber(-2)).toBe(49152);
    expect(float16BitsFromNumber(65504)).toBe(0x7bff);
    expect(float16BitsFromNumber(65520)).toBe(0x7c00); // rounds up to Inf
    expect(float16BitsFromNumber(65519.99)).toBe(0x7bff);
    expect(float16BitsFromNumber(2 ** -24)).toBe(1); // smallest subnormal
    expect(float16BitsFromNumber(2 ** -25)).toBe(0); // tie rounds to even (0)
    expect(float16BitsFromNumber(3 * 2 ** -25)).toBe(2); // tie rounds to even (2)
    expect(float16BitsFromNumber(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(float16BitsFromNumber(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float16BitsFromNumber(-0)).toBe(0x8000);
    expect(float16BitsFromNumber(Infinity)).toBe(0x7c00);
    expect(float16BitsFromNumber(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(numberFromFloat16Bits(float16BitsFromNumber(NaN)))).toBe(true);
  });

  it("decodes every bit pattern and re-encodes it to itself", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = numberFromFloat16Bits(bits);
      if (Number.isNaN(value)) continue;
      expect(float16BitsFromNumber(value)).toBe(bits);
    }
  });
});

describe("bfloat16", () => {
  it("rounds float32 to nearest even and keeps specials", () => {
    expect(bfloat16BitsFromNumber(1.5)).toBe(16320);
    expect(bfloat16BitsFromNumber(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(bfloat16BitsFromNumber(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(bfloat16BitsFromNumber(Infinity)).toBe(0x7f80);
    expect(bfloat16BitsFromNumber(-0)).toBe(0x8000);
    expect(Number.isNaN(numberFromBfloat16Bits(bfloat16BitsFromNumber(NaN)))).toBe(true);
  });

  it("round-trips every bit pattern", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = numberFromBfloat16Bits(bits);
      if (Number.isNaN(value)) continue;
      expect(bfloat16BitsFromNumber(value)).toBe(bits);
    }
  });
});

describe("castBytes", () => {
  it("casts float32 → float16 → float32 for exactly representable values", () => {
    const input = new Float32Array([0, 1, -2.5, 65504, Infinity, -Infinity]);
    const half = castBytes(new Uint8Array(input.buffer), "float32", "float16");
    const back = castBytes(half, "float16", "float32");
    expect([...new Float32Array(back.buffer.slice(0))]).toEqual([...input]);
  });

  it("refuses non-floating casts", () => {
    expect(() => castBytes(new Uint8Array(8), "int64", "float32")).toThrow(/cannot cast/);
  });
});

describe.skipIf(!hasPythonModules("torch", "numpy"))("casts agree with torch", () => {
  it("float32 → float16 and bfloat16 match torch bit for bit on random and tricky values", () => {
    const script = `
import torch, sys
torch.manual_seed(1)
x = torch.cat([torch.randn(4000) * 10 ** torch.randint(-8, 6, (4000,)).float(),
               torch.tensor([65504., 65519., 65520., 1e-8, 6e-8, 3e-8, -0.0, float('inf'), float('nan')])])
sys.stdout.write(x.numpy().tobytes().hex() + "\\n")
sys.stdout.write(x.half().view(torch.int16).numpy().tobytes().hex() + "\\n")
sys.stdout.write(x.bfloat16().view(torch.int16).numpy().tobytes().hex() + "\\n")
`;
    const [f32, f16, bf16] = runPython(script)
      .trim()
      .split("\n")
      .map((h) => Uint8Array.from(Buffer.from(h, "hex")));
    expect(Buffer.from(castBytes(f32!, "float32", "float16")).toString("hex")).toBe(Buffer.from(f16!).toString("hex"));
    const ours = castBytes(f32!, "float32", "bfloat16");
    // NaN payloads may differ; compare everything but the final NaN element.
    expect(Buffer.from(ours.subarray(0, ours.length - 2)).toString("hex")).toBe(Buffer.from(bf16!.subarray(0, bf16!.length - 2)).toString("hex"));
  });
});
