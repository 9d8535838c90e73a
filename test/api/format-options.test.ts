import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convert, write, writeBytes } from "../../src/index.js";
import { groupedFormatOptions } from "../../src/api/format-options.js";
import { bytesData, makeTensor } from "../../src/tensor/tensor.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";

const tmp = () => mkdtempSync(join(tmpdir(), "wb-format-options-"));
const checkpoint = (): Checkpoint => ({
  format: "safetensors",
  tensors: [makeTensor("w", "float32", [2, 3], bytesData(new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer)))],
  meta: {},
});
/** The protocol byte of a pickle (PROTO opcode 0x80, then the version). */
const protocolOf = (bytes: Uint8Array) => (bytes[0] === 0x80 ? bytes[1] : undefined);

describe("formatOptions: grouped by format id, passed to the writer as given", () => {
  it("reach the ONNX writer through write() and convert()", async () => {
    const dir = tmp();
    await write(checkpoint(), join(dir, "a.onnx"), { formatOptions: { onnx: { externalData: true } } });
    expect(existsSync(join(dir, "a.onnx.data"))).toBe(true);
    const input = await writeBytes(checkpoint(), "safetensors");
    await convert(input, join(dir, "b.onnx"), { formatOptions: { onnx: { externalData: true } } });
    expect(existsSync(join(dir, "b.onnx.data"))).toBe(true);
    await convert(input, join(dir, "c.onnx"), { formatOptions: { onnx: { externalData: false } } });
    expect(existsSync(join(dir, "c.onnx.data"))).toBe(false);
  });

  it("reach the Paddle writer (pickle protocol), in memory too", async () => {
    expect(protocolOf(await writeBytes(checkpoint(), "paddle", { formatOptions: { paddle: { pickleProtocol: 2 } } }))).toBe(2);
    expect(protocolOf(await writeBytes(checkpoint(), "paddle"))).toBe(4);
    const dir = tmp();
    await convert(await writeBytes(checkpoint(), "safetensors"), join(dir, "m.pdparams"), { formatOptions: { paddle: { pickleProtocol: 2 } } });
    expect(protocolOf(new Uint8Array(readFileSync(join(dir, "m.pdparams"))))).toBe(2);
  });

  it("the flat options of 0.1 (externalData, pickleProtocol) still work", async () => {
    const dir = tmp();
    const input = await writeBytes(checkpoint(), "safetensors");
    await convert(input, join(dir, "old.onnx"), { externalData: true });
    expect(existsSync(join(dir, "old.onnx.data"))).toBe(true);
    await convert(input, join(dir, "old.pdparams"), { pickleProtocol: 2 });
    expect(protocolOf(new Uint8Array(readFileSync(join(dir, "old.pdparams"))))).toBe(2);
  });

  it("folds flat options into their groups; a grouped value wins", () => {
    expect(groupedFormatOptions({})).toEqual({});
    expect(groupedFormatOptions({ externalData: true, pickleProtocol: 2 })).toEqual({ onnx: { externalData: true }, paddle: { pickleProtocol: 2 } });
    expect(groupedFormatOptions({ pickleProtocol: 2, formatOptions: { paddle: { pickleProtocol: 4 }, onnx: { externalData: false } } })).toEqual({
      paddle: { pickleProtocol: 4 },
      onnx: { externalData: false },
    });
  });
});
