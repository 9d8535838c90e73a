import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { memorySource } from "../../../src/io/source.js";
import { readTflite } from "../../../src/formats/tflite/read.js";
import { TensorType } from "../../../src/formats/tflite/generated/tensor-type.js";
import { hasPythonTflite, readWithPython } from "../../helpers/flatc.js";
import { runCli } from "../../helpers/cli.js";
import { randomBytes } from "../../helpers/random.js";
import { buildModel, type SpecTensor } from "./build-model.js";

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");

const TYPES: Array<[TensorType, string, number]> = [
  [TensorType.FLOAT32, "float32", 4],
  [TensorType.FLOAT16, "float16", 2],
  [TensorType.INT8, "int8", 1],
  [TensorType.UINT8, "uint8", 1],
  [TensorType.INT16, "int16", 2],
  [TensorType.INT32, "int32", 4],
  [TensorType.INT64, "int64", 8],
  [TensorType.BOOL, "bool", 1],
];

function everyType(): SpecTensor[] {
  const tensors: SpecTensor[] = [];
  TYPES.forEach(([type, dtype, size], i) => {
    const count = 6;
    const data = type === TensorType.BOOL ? randomBytes(count, i + 1).map((b) => b & 1) : randomBytes(count * size, i + 1);
    tensors.push({ name: `inline/${dtype}`, type, shape: [2, 3], data });
    const external = randomBytes(count * size, i + 50).map((b) => (type === TensorType.BOOL ? b & 1 : b));
    tensors.push({ name: `external/${dtype}`, type, shape: [3, 2], data: external, external: true });
  });
  // INT4: five values [-8, 7, -1, 0, 3] two to a byte, low nibble first; the last high nibble unused.
  tensors.push({ name: "inline/int4", type: TensorType.INT4, shape: [5], data: Uint8Array.from([0x78, 0x0f, 0x03]) });
  tensors.push({ name: "activation", type: TensorType.FLOAT32, shape: [1, 4] });
  return tensors;
}

const write = (bytes: Uint8Array, name = "model.tflite") => {
  const path = join(mkdtempSync(join(tmpdir(), "tflite-synthetic-")), name);
  writeFileSync(path, bytes);
  return path;
};

describe("tflite: every tensor type, inline and after the FlatBuffer (offset/size)", () => {
  const bytes = buildModel(everyType());

  it("reads each with its dtype and bytes; INT4 unpacks to int8 low nibble first", async () => {
    const checkpoint = await readTflite(memorySource(bytes, "m.tflite"));
    const spec = everyType();
    expect(checkpoint.tensors.map((t) => t.name)).toEqual(spec.filter((t) => t.data).map((t) => t.name));
    for (const t of spec.filter((s) => s.data && s.type !== TensorType.INT4)) {
      const ours = checkpoint.tensors.find((x) => x.name === t.name)!;
      expect(ours.dtype).toBe(TYPES.find(([type]) => type === t.type)![1]);
      expect(ours.shape).toEqual(t.shape);
      expect(Buffer.from(await ours.data.read()).equals(Buffer.from(t.data!)), t.name).toBe(true);
    }
    const int4 = checkpoint.tensors.find((x) => x.name === "inline/int4")!;
    expect(int4.dtype).toBe("int8");
    expect([...new Int8Array((await int4.data.read()).slice().buffer)]).toEqual([-8, 7, -1, 0, 3]);
    expect((checkpoint.meta.tflite as { external_buffers?: number }).external_buffers).toBe(8);
  });

  it.skipIf(!hasPythonTflite())("python3-flatbuffers reads the same bytes (external ones at their offset/size)", async () => {
    const py = readWithPython(write(bytes));
    const checkpoint = await readTflite(memorySource(bytes, "m.tflite"));
    for (const t of py.subgraphs[0]!.tensors.filter((x) => x.data !== "" && x.type !== TensorType.INT4)) {
      const ours = checkpoint.tensors.find((x) => x.name === t.name)!;
      expect(Buffer.from(await ours.data.read()).toString("hex"), t.name).toBe(t.data);
    }
  });

  it.skipIf(!hasPythonTflite())("per-channel uint8 and int8 with non-zero zero points dequantize as numpy does", async () => {
    const model = buildModel([
      {
        name: "w_int8",
        type: TensorType.INT8,
        shape: [3, 2, 2],
        data: randomBytes(12, 9),
        quantization: { scale: [0.5, 0.013, 3e-5], zeroPoint: [-3, 0, 7], axis: 0 },
      },
      {
        name: "w_uint8",
        type: TensorType.UINT8,
        shape: [2, 4],
        data: randomBytes(8, 10),
        quantization: { scale: [0.1, 0.2, 0.3, 0.4], zeroPoint: [128, 127, 0, 255], axis: 1 },
      },
      { name: "b_int32", type: TensorType.INT32, shape: [3], data: randomBytes(12, 11), quantization: { scale: [1e-4], zeroPoint: [0] } },
    ]);
    const py = readWithPython(write(model));
    const checkpoint = await readTflite(memorySource(model, "q.tflite"), { dequantize: true });
    for (const t of py.subgraphs[0]!.tensors) {
      const ours = checkpoint.tensors.find((x) => x.name === t.name)!;
      expect(Buffer.from(await ours.data.read()).toString("hex"), t.name).toBe(t.dequantized);
    }
  });
});

describe("tflite: bad input is one line and exit 1", () => {
  const real = readFileSync(join(REAL, "hello_world_float.tflite"));
  const rootPastEnd = Uint8Array.from(real);
  new DataView(rootPastEnd.buffer).setUint32(0, 0x7ffffff0, true);
  const float = (shape: number[], bytes: number, extra: Partial<SpecTensor> = {}) =>
    buildModel([{ name: "w", type: TensorType.FLOAT32, shape, data: new Uint8Array(bytes), ...extra }]);
  const cases: Array<[string, Uint8Array, RegExp, string[]]> = [
    ["truncated", real.subarray(0, 1500), /past the end|needs|truncated/, []],
    ["wrong identifier (named with --from)", Uint8Array.from(real).fill(0x58, 4, 8), /not a TFLite model: bytes 4-7 are 'XXXX'/, ["--from", "tflite"]],
    ["wrong identifier (detected)", Uint8Array.from(real).fill(0x58, 4, 8), /not a model file weightbridge can read/, []],
    ["root offset past the end", rootPastEnd, /past the end of the 3164-byte file/, []],
    ["buffer index past the list", float([2], 8, { buffer: 7 }), /buffer index 7 is past the model's 2 buffers/, []],
    ["a 2 GB declared size", float([2], 8, { external: true, declaredSize: 2n ** 31n }), /declares 2147483648 bytes at byte \d+, past the end/, []],
    ["a size that does not fit the shape", float([3], 8), /FLOAT32\[3\] needs 12 bytes but buffer 1 holds 8/, []],
    ["too short", Uint8Array.from([0x1c, 0, 0, 0, 0x54, 0x46]), /too short|not a model file/, ["--from", "tflite"]],
  ];
  it.each(cases)("%s", (_what, bytes, message, extra) => {
    const path = write(bytes, "bad.tflite");
    const r = runCli(["inspect", path, ...extra]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("random corruption of a real file never crashes or hangs (WeightbridgeError or a successful read)", async () => {
    const model = readFileSync(join(REAL, "hello_world_int8.tflite"));
    for (let seed = 1; seed <= 300; seed++) {
      const bytes = Uint8Array.from(model);
      const noise = randomBytes(6, seed);
      for (let k = 0; k < 3; k++) bytes[(noise[2 * k]! * 256 + noise[2 * k + 1]!) % bytes.byteLength] = noise[(k + 3) % 6]!;
      const result = await readTflite(memorySource(bytes, "m.tflite"), { dequantize: true }).then(
        async (c) => {
          for (const t of c.tensors) await t.data.read();
          return "read";
        },
        (e: unknown) => (e as Error).name,
      );
      expect(["read", "WeightbridgeError"], `seed ${seed}`).toContain(result);
    }
  });
});
