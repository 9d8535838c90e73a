import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { fileSource } from "../../../src/io/source.js";
import { readTflite } from "../../../src/formats/tflite/read.js";
import { hasPythonTflite, readWithPython } from "../../helpers/flatc.js";
import type { DType } from "../../../src/tensor/dtype.js";

const REAL = join(import.meta.dirname, "../../../fixtures/tflite/real");
const FILES = ["hello_world_float", "hello_world_int8", "trained_lstm", "trained_lstm_int8", "person_detect"];
const DTYPE_OF: Record<number, DType> = { 0: "float32", 9: "int8", 2: "int32", 7: "int16", 3: "uint8", 4: "int64" };

async function read(name: string, dequantize = false) {
  const source = await fileSource(join(REAL, `${name}.tflite`));
  return { checkpoint: await readTflite(source, { dequantize }), close: () => source.close() };
}

const hex = async (t: { data: { read(): Promise<Uint8Array> } } | undefined) => Buffer.from(await t!.data.read()).toString("hex");

describe.skipIf(!hasPythonTflite())("tflite: real converter-written files against python3-flatbuffers", () => {
  it.each(FILES)("%s: every constant tensor's name, type, shape, bytes and quantization; operators per type", async (name) => {
    const py = readWithPython(join(REAL, `${name}.tflite`));
    const { checkpoint, close } = await read(name);
    try {
      const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
      const constants = py.subgraphs[0]!.tensors.filter((t) => t.data !== "");
      expect(constants.length).toBeGreaterThan(0);
      // Layer by layer in operator order, not the converter's tensor order.
      expect(
        checkpoint.tensors
          .filter((t) => t.role === "initializer")
          .map((t) => t.name)
          .sort(),
      ).toEqual(constants.map((t) => t.name).sort());
      for (const t of constants) {
        const ours = byName.get(t.name)!;
        expect(ours.dtype, t.name).toBe(DTYPE_OF[t.type]);
        expect(ours.shape).toEqual(t.shape);
        expect(await hex(ours), `${t.name} bytes`).toBe(t.data);
        if (t.scale) {
          expect(await hex(byName.get(`${t.name}_scale`)), `${t.name} scale`).toBe(t.scale);
          const zp = byName.get(`${t.name}_zero_point`)!;
          expect(zp.dtype).toBe(ours.dtype);
          const q = (checkpoint.meta.quantization as Record<string, { zero_point: number[]; axis: number }>)[t.name]!;
          expect(q.zero_point).toEqual(t.zero_point);
          expect(q.axis === t.axis || (q.axis === -1 && t.zero_point!.length === 1) || (t.shape.length === 1 && q.axis === 0)).toBe(true);
        } else expect(byName.has(`${t.name}_scale`)).toBe(false);
      }
      const counts: Record<string, number> = {};
      for (const op of py.subgraphs[0]!.operators) counts[op] = (counts[op] ?? 0) + 1;
      expect((checkpoint.meta.tflite as { operators: Record<string, number> }).operators).toEqual(counts);
    } finally {
      await close();
    }
  });

  it.each(["hello_world_int8", "trained_lstm_int8", "person_detect"])("%s: --dequantize equals numpy's (q - zp) * scale bit for bit", async (name) => {
    const py = readWithPython(join(REAL, `${name}.tflite`));
    const { checkpoint, close } = await read(name, true);
    try {
      const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
      const quantized = py.subgraphs[0]!.tensors.filter((t) => t.dequantized !== undefined);
      expect(quantized.length).toBeGreaterThan(0);
      for (const t of quantized) {
        const ours = byName.get(t.name)!;
        expect(ours.dtype).toBe("float32");
        expect(await hex(ours), t.name).toBe(t.dequantized);
      }
      expect(checkpoint.tensors.some((t) => t.role === "quantization")).toBe(false);
    } finally {
      await close();
    }
  });
});

describe("tflite: layer hints from the operators", () => {
  it("person_detect: CONV_2D filters OHWI, DEPTHWISE_CONV_2D 1HWC, biases; per-channel axes", async () => {
    const { checkpoint, close } = await read("person_detect");
    try {
      const t = (n: string) => checkpoint.tensors.find((x) => x.name === n)!;
      expect(t("MobilenetV1/Conv2d_1_pointwise/weights/read").layer).toMatchObject({ kind: "conv2d", className: "CONV_2D", attributes: { input: "filter" } });
      expect(t("MobilenetV1/Conv2d_1_depthwise/depthwise_weights/read").layer).toMatchObject({ kind: "depthwise_conv2d", attributes: { input: "filter" } });
      expect(t("MobilenetV1/MobilenetV1/Conv2d_10_pointwise/Conv2D_bias").layer).toMatchObject({ kind: "conv2d", attributes: { input: "bias" } });
      // The first layer reads a 1-channel image with a depth multiplier of 8: a DEPTHWISE_CONV_2D.
      expect(t("MobilenetV1/Conv2d_0/weights/read").layer).toMatchObject({ kind: "depthwise_conv2d", attributes: { depth_multiplier: 8 } });
      const q = checkpoint.meta.quantization as Record<string, { axis: number; scale: number[] }>;
      expect(q["MobilenetV1/Conv2d_1_depthwise/depthwise_weights/read"]).toMatchObject({ axis: 3 });
      expect(q["MobilenetV1/Conv2d_1_pointwise/weights/read"]).toMatchObject({ axis: 0 });
    } finally {
      await close();
    }
  });

  it("trained_lstm: UNIDIRECTIONAL_SEQUENCE_LSTM gates by slot; the FULLY_CONNECTED after a RESHAPE of a sequence needs no reorder", async () => {
    const { checkpoint, close } = await read("trained_lstm");
    try {
      const slots = checkpoint.tensors
        .filter((t) => t.layer?.kind === "lstm")
        .map((t) => t.layer!.attributes!.input)
        .sort();
      expect(slots).toEqual([
        "cell_gate_bias",
        "forget_gate_bias",
        "input_gate_bias",
        "input_to_cell_weights",
        "input_to_forget_weights",
        "input_to_input_weights",
        "input_to_output_weights",
        "output_gate_bias",
        "recurrent_to_cell_weights",
        "recurrent_to_forget_weights",
        "recurrent_to_input_weights",
        "recurrent_to_output_weights",
      ]);
      const fc = checkpoint.tensors.find((t) => t.name === "model/sequential/output/MatMul")!;
      expect(fc.layer).toMatchObject({ kind: "linear", path: "model.sequential.output", attributes: { input: "weights" } });
      expect(fc.layer!.attributes!.flattenedFrom).toBeUndefined();
    } finally {
      await close();
    }
  });
});
