import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { read, write, writeBytes } from "../../src/index.js";
import { bytesData, makeTensor, type Tensor } from "../../src/tensor/tensor.js";
import { DTYPES, byteLengthOf, type DType } from "../../src/tensor/dtype.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import { hasPythonModules, runPython } from "../helpers/python.js";

function patterned(dtype: DType, shape: number[], seed: number): Tensor {
  const bytes = new Uint8Array(byteLengthOf(dtype, shape)).map((_, i) => (i * 131 + seed * 17) & 0xff);
  if (dtype === "bool") bytes.forEach((_, i) => (bytes[i] = (i + seed) % 2));
  return makeTensor(`t.${dtype}.${seed}`, dtype, shape, bytesData(bytes));
}

const supported = DTYPES.filter((d) => d !== "complex128" && d !== "int4" && d !== "uint4");

function zoo(): Checkpoint {
  const tensors = supported.flatMap((d, i) => [patterned(d, [2, 3], i), patterned(d, [], i + 100), patterned(d, [0, 4], i + 200)]);
  return { tensors, meta: { format: "pt", epoch: 3, nested: { lr: 0.5 } } };
}

describe("safetensors", () => {
  it("round-trips every dtype, 0-d and empty tensors and meta bit for bit", async () => {
    const original = zoo();
    const bytes = await writeBytes(original, "safetensors");
    expect(Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)) % 8).toBe(0);
    const back = await read(bytes);
    expect(back.format).toBe("safetensors");
    expect(back.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(original.tensors.map((t) => [t.name, t.dtype, t.shape]));
    for (let i = 0; i < original.tensors.length; i++) {
      expect(await back.tensors[i]!.data.read()).toEqualBytes(await original.tensors[i]!.data.read());
    }
    expect(back.meta).toEqual(original.meta);
  });

  it("refuses complex128, which safetensors cannot hold", async () => {
    await expect(writeBytes({ tensors: [patterned("complex128", [1], 0)], meta: {} }, "safetensors")).rejects.toThrow(/no complex128/);
  });

  it("names the problem in corrupt headers", async () => {
    const header = (obj: unknown, extra = 0) => {
      const json = new TextEncoder().encode(JSON.stringify(obj));
      const out = new Uint8Array(8 + json.length + extra);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    await expect(read(header({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, 4))).rejects.toThrow(/outside the 4 data bytes/);
    await expect(read(header({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8))).rejects.toThrow(/needs 12 bytes/);
    await expect(read(header({ w: { dtype: "X9", shape: [1], data_offsets: [0, 1] } }, 1))).rejects.toMatchObject({ code: "unsupported" });
    const lying = header({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 4);
    new DataView(lying.buffer).setBigUint64(0, 1n << 40n, true);
    await expect(read(lying, { format: "safetensors" })).rejects.toThrow(/does not fit the file/);
  });
});

describe.skipIf(!hasPythonModules("numpy"))("safetensors interop", () => {
  it("an independent Python parser reads our file with 8-byte aligned data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-st-"));
    const path = join(dir, "zoo.safetensors");
    const original = zoo();
    await write(original, path);
    const out = runPython(
      `import json, struct, sys, hashlib
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
assert n % 8 == 0
header = json.loads(raw[8:8+n])
meta = header.pop('__metadata__')
data = raw[8+n:]
end = 0
for name, e in header.items():
    b, f = e['data_offsets']
    end = max(end, f)
    print(name, e['dtype'], e['shape'], hashlib.sha256(data[b:f]).hexdigest())
assert end == len(data)
print(json.dumps(meta))`,
      [path],
    );
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(original.tensors.length + 1);
    const { createHash } = await import("node:crypto");
    for (let i = 0; i < original.tensors.length; i++) {
      const t = original.tensors[i]!;
      const sha = createHash("sha256")
        .update(await t.data.read())
        .digest("hex");
      expect(lines[i]!.endsWith(sha)).toBe(true);
      expect(lines[i]!.startsWith(`${t.name} `)).toBe(true);
    }
    expect(JSON.parse(lines.at(-1)!).format).toBe("pt");
    writeFileSync(join(dir, "done"), "");
  });
});
