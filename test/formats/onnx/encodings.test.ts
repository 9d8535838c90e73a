import { describe, expect, it } from "vitest";
import protobuf from "protobufjs";
import { memorySource } from "../../../src/io/source.js";
import { onnxFormat } from "../../../src/formats/onnx/format.js";
import { encodeMessage } from "../../../src/formats/onnx/schema.js";
import { lengthPrefix } from "../../../src/protobuf/wire.js";
import { concatBytes } from "../../../src/util/bytes.js";
import { isWeightbridgeError } from "../../../src/errors.js";

// Hand-built wire bytes for encodings the onnx package never writes (unpacked typed fields,
// FLOAT8, dims past 2^53), checked against values worked out by hand.

/** A ModelProto whose graph holds these TensorProto payloads as initializers. */
function modelWith(tensors: Uint8Array[]): Uint8Array {
  const head = encodeMessage("ModelProto", { ir_version: 9, opset_import: [{ domain: "", version: 19 }] });
  const graph = concatBytes([encodeMessage("GraphProto", { name: "g" }), ...tensors.map((t) => concatBytes([lengthPrefix(5, t.byteLength), t]))]);
  return concatBytes([head, lengthPrefix(7, graph.byteLength), graph]);
}

/** TensorProto with dims, type, name, then `fill` writes the value field. */
function tensor(name: string, dataType: number, dims: number[], fill: (w: protobuf.Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  for (const d of dims) w.uint32((1 << 3) | 0).int64(d); // dims: unpacked, as onnx writes them
  w.uint32((2 << 3) | 0).int32(dataType);
  w.uint32((8 << 3) | 2).string(name);
  fill(w);
  return w.finish();
}

async function read(bytes: Uint8Array) {
  const c = await onnxFormat.read!(memorySource(bytes, "hand.onnx"), {});
  const out: Record<string, { dtype: string; shape: number[]; bytes: number[] }> = {};
  for (const t of c.tensors) out[t.name] = { dtype: t.dtype, shape: t.shape, bytes: Array.from(await t.data.read()) };
  return out;
}

const le = (arr: ArrayBufferView) => Array.from(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));

describe("onnx typed-field encodings", () => {
  it("accepts unpacked repeated values (one tag per element) as well as packed", async () => {
    const got = await read(
      modelWith([
        tensor("f_unpacked", 1, [2], (w) => {
          w.uint32((4 << 3) | 5).float(1.5);
          w.uint32((4 << 3) | 5).float(-2);
        }),
        tensor("i8_unpacked", 3, [2], (w) => {
          w.uint32((5 << 3) | 0).int32(-128);
          w.uint32((5 << 3) | 0).int32(7);
        }),
        tensor("i64_unpacked", 7, [2], (w) => {
          w.uint32((7 << 3) | 0).int64("-9007199254740993");
          w.uint32((7 << 3) | 0).int64(5);
        }),
        tensor("d_unpacked", 11, [1], (w) => w.uint32((10 << 3) | 1).double(Math.PI)),
        tensor("u64_unpacked", 13, [1], (w) => w.uint32((11 << 3) | 0).uint64("18446744073709551615")),
        tensor("f_packed", 1, [2], (w) =>
          w
            .uint32((4 << 3) | 2)
            .fork()
            .float(1.5)
            .float(-2)
            .ldelim(),
        ),
      ]),
    );
    expect(got.f_unpacked).toEqual({ dtype: "float32", shape: [2], bytes: le(new Float32Array([1.5, -2])) });
    expect(got.f_packed).toEqual(got.f_unpacked);
    expect(got.i8_unpacked!.bytes).toEqual([0x80, 7]);
    expect(got.i64_unpacked!.bytes).toEqual(le(new BigInt64Array([-9007199254740993n, 5n])));
    expect(got.d_unpacked!.bytes).toEqual(le(new Float64Array([Math.PI])));
    expect(got.u64_unpacked!.bytes).toEqual(le(new BigUint64Array([18446744073709551615n])));
  });

  it("reads float16/bfloat16/float8 int32_data as bit patterns and FLOAT8 raw_data", async () => {
    const got = await read(
      modelWith([
        tensor("h", 10, [2], (w) =>
          w
            .uint32((5 << 3) | 2)
            .fork()
            .int32(15872)
            .int32(49152)
            .ldelim(),
        ),
        tensor("bf", 16, [1], (w) =>
          w
            .uint32((5 << 3) | 2)
            .fork()
            .int32(16320)
            .ldelim(),
        ),
        tensor("e4m3", 17, [2], (w) =>
          w
            .uint32((5 << 3) | 2)
            .fork()
            .int32(0x38)
            .int32(0xc0)
            .ldelim(),
        ),
        tensor("e5m2", 19, [2], (w) => w.uint32((9 << 3) | 2).bytes(new Uint8Array([0x3c, 0xfc]))),
      ]),
    );
    expect(got.h).toEqual({ dtype: "float16", shape: [2], bytes: [0x00, 0x3e, 0x00, 0xc0] });
    expect(got.bf).toEqual({ dtype: "bfloat16", shape: [1], bytes: [0xc0, 0x3f] });
    expect(got.e4m3).toEqual({ dtype: "float8_e4m3fn", shape: [2], bytes: [0x38, 0xc0] });
    expect(got.e5m2).toEqual({ dtype: "float8_e5m2", shape: [2], bytes: [0x3c, 0xfc] });
  });

  it("skips tensors whose element type weightbridge lacks, with a warning", async () => {
    const bytes = modelWith([tensor("s", 8, [1], (w) => w.uint32((6 << 3) | 2).bytes(new Uint8Array([104, 105])))]);
    const c = await onnxFormat.read!(memorySource(bytes, "hand.onnx"), {});
    expect(c.tensors).toEqual([]);
    expect(c.warnings).toEqual(["initializer 's' skipped: element type STRING has no weightbridge dtype"]);
  });

  it("refuses dims past 2^53 and value counts that disagree with the shape", async () => {
    const huge = modelWith([tensor("big", 1, [], (w) => w.uint32((1 << 3) | 0).int64("9007199254740993"))]);
    const short = modelWith([
      tensor("short", 1, [3], (w) =>
        w
          .uint32((4 << 3) | 2)
          .fork()
          .float(1)
          .ldelim(),
      ),
    ]);
    const rawShort = modelWith([tensor("raw", 1, [3], (w) => w.uint32((9 << 3) | 2).bytes(new Uint8Array(8)))]);
    for (const [bytes, message] of [
      [huge, /dimension 9007199254740993 is not a valid size/],
      [short, /float_data holds 1 values but the shape needs 3/],
      [rawShort, /raw_data is 8 bytes but float32\[3\] needs 12/],
    ] as const) {
      const error = await onnxFormat.read!(memorySource(bytes, "hand.onnx"), {}).catch((e) => e);
      expect(isWeightbridgeError(error)).toBe(true);
      expect(error.code).toBe("corrupt");
      expect(error.message).toMatch(message);
    }
  });
});
