import { describe, expect, it } from "vitest";
import { FORMATS } from "../../src/formats/index.js";
import { detectFormat } from "../../src/formats/index.js";
import { memorySource } from "../../src/io/source.js";
import { MemorySink } from "../../src/io/sink.js";
import { WeightbridgeError } from "../../src/errors.js";
import { DTYPES, byteLengthOf, type DType } from "../../src/tensor/dtype.js";
import { bytesData, makeTensor, type Tensor } from "../../src/tensor/tensor.js";
import type { Checkpoint } from "../../src/tensor/checkpoint.js";
import type { Format, FormatId } from "../../src/formats/types.js";
import { randomBytes } from "../helpers/random.js";
import { describeTensors } from "../helpers/expected.js";

// Every format in THE list goes through the same checks: garbage is a WeightbridgeError, and
// for every dtype a writer either refuses it (only the dtypes its file format cannot hold, listed
// below, with a clear "unsupported" error naming the tensor) or writes what reads back bit for bit
// (names, dtypes, shapes, bytes, 0-d and empty tensors), in a file that is detected as the format
// it was written as. Format-specific behaviour has its own tests; this one keeps the formats
// honest with each other.

/**
 * How each writer wants tensor names (Keras groups weights into layers by name). Keras 3 matches
 * objects by path, not position, and its writer orders them as Keras does: compared as sets.
 */
const NAMING: Partial<Record<FormatId, { name(i: number): string; sink: string; unordered?: boolean }>> = {
  safetensors: { name: (i) => `layer${i}.weight`, sink: "out.safetensors" },
  pytorch: { name: (i) => `layer${i}.weight`, sink: "out.pt" },
  paddle: { name: (i) => `layer${i}.weight`, sink: "out.pdparams" },
  onnx: { name: (i) => `layer${i}.weight`, sink: "out.onnx" },
  "keras-h5": { name: (i) => `layer${i}/kernel:0`, sink: "out.h5" },
  keras: { name: (i) => `layers/layer${i}/vars/0`, sink: "out.weights.h5", unordered: true },
  gguf: { name: (i) => `blk.${i}.weight`, sink: "out.gguf" },
};
/**
 * The dtypes each writer refuses because its file format cannot hold them faithfully; every
 * other dtype must round-trip, so a writer that refuses too much fails. float32 is never here.
 */
const REFUSED: Partial<Record<FormatId, DType[]>> = {
  safetensors: ["complex128", "int4", "uint4"], // safetensors' dtype list has C64 but no C128, and no 4-bit types
  pytorch: ["int4", "uint4"], // torch has no packed 4-bit dtype (ONNX's int4/uint4 stay ONNX)
  "keras-h5": ["float8_e4m3fn", "float8_e5m2", "complex64", "complex128", "int4", "uint4"], // no Keras/HDF5 type for them
  keras: ["float8_e4m3fn", "float8_e5m2", "complex64", "complex128", "int4", "uint4"],
  paddle: ["float8_e4m3fn", "float8_e5m2", "uint16", "int4", "uint4"], // numpy has no float8 or 4-bit; paddle.load reads u2 as bfloat16
  gguf: ["float8_e4m3fn", "float8_e5m2", "uint64", "uint32", "uint16", "uint8", "bool", "complex64", "complex128", "int4", "uint4"], // ggml has no such tensor types
};
/** Writers that only re-weight a file of the target framework have their own tests. */
const NEEDS_TEMPLATE: FormatId[] = ["paddle-inference", "tflite"];
/** Multi-file outputs (PREFIX.index + PREFIX.data-*, a SavedModel folder): test/formats/tf/write.test.ts round-trips every dtype through files. */
const MULTI_FILE: FormatId[] = ["tf-checkpoint", "tf-savedmodel"];

function valuesOf(dtype: DType, count: number, seed: number): Uint8Array {
  if (dtype === "bool") return randomBytes(count, seed).map((b) => b & 1);
  return randomBytes(byteLengthOf(dtype, [count]), seed);
}

/** One dtype as a [2, 3] tensor, a 0-d tensor and an empty [0, 3] tensor. */
function checkpointOf(dtype: DType, name: (i: number) => string): Checkpoint {
  const seed = DTYPES.indexOf(dtype) + 1;
  const tensors: Tensor[] = [
    makeTensor(name(0), dtype, [2, 3], bytesData(valuesOf(dtype, 6, seed))),
    makeTensor(name(1), dtype, [], bytesData(valuesOf(dtype, 1, seed + 100))),
    makeTensor(name(2), dtype, [0, 3], bytesData(new Uint8Array(0))),
  ];
  return { tensors, meta: {} };
}

async function fingerprint(c: Checkpoint): Promise<string[]> {
  return (await describeTensors(c)).map((t) => `${t.name} ${t.dtype} [${t.shape}] ${t.sha256}`);
}

async function writeToMemory(format: Format, checkpoint: Checkpoint, sinkName: string): Promise<Uint8Array> {
  const sink = new MemorySink(sinkName);
  await format.write!(checkpoint, sink, {});
  return sink.bytes();
}

describe.each(FORMATS.map((f) => [f.id, f] as const))("format %s", (id, format) => {
  it("garbage, empty and truncated input are WeightbridgeErrors", async () => {
    if (!format.read) return;
    for (const bytes of [
      new Uint8Array(0),
      randomBytes(4096, 7),
      Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 1, 2]),
      Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
    ]) {
      await expect(format.read(memorySource(bytes, `bad.${id}`), {})).rejects.toBeInstanceOf(WeightbridgeError);
    }
  });

  const naming = NAMING[id];
  if (!format.write || NEEDS_TEMPLATE.includes(id) || MULTI_FILE.includes(id)) return;
  if (!naming) throw new Error(`format ${id} writes but the conformance test has no naming for it`);

  it("names with non-ASCII letters, spaces and digits-only parts come back exactly", async () => {
    const odd = ["couche_é", "层 2", "3", "x-y"];
    const checkpoint: Checkpoint = {
      tensors: odd.map((n, i) => makeTensor(naming.name(i).replace(`layer${i}`, n), "float32", [2], bytesData(valuesOf("float32", 2, i + 1)))),
      meta: {},
    };
    const bytes = await writeToMemory(format, checkpoint, naming.sink);
    const back = await format.read!(memorySource(bytes, naming.sink), {});
    const order = (xs: string[]) => (naming.unordered ? [...xs].sort() : xs);
    expect(order(await fingerprint(back))).toEqual(order(await fingerprint(checkpoint)));
  });

  const refused = REFUSED[id] ?? [];
  it("float32 is never on the refused list", () => expect(refused).not.toContain("float32"));

  it.each(DTYPES.filter((d) => refused.includes(d)))("%s: refused with a clear error naming the tensor", async (dtype) => {
    const checkpoint = checkpointOf(dtype, naming.name);
    const error = await writeToMemory(format, checkpoint, naming.sink).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, `${id} wrote ${dtype}: take it off REFUSED and let the round trip below check it`).toBeInstanceOf(WeightbridgeError);
    expect((error as WeightbridgeError).code).toBe("unsupported");
    expect((error as WeightbridgeError).message).toContain(dtype);
    expect((error as WeightbridgeError).location.tensor).toBe(checkpoint.tensors[0]!.name);
  });

  it.each(DTYPES.filter((d) => !refused.includes(d)))("%s: written and read back bit-exact (0-d and empty too)", async (dtype) => {
    const checkpoint = checkpointOf(dtype, naming.name);
    const bytes = await writeToMemory(format, checkpoint, naming.sink);
    const source = memorySource(bytes, naming.sink);
    expect((await detectFormat(source)).format.id).toBe(id);
    const back = await format.read!(source, {});
    expect(await fingerprint(back)).toEqual(await fingerprint(checkpoint));
  });
});
