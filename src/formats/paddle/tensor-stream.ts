import type { ByteSource } from "../../io/source.js";
import { WeightbridgeError } from "../../errors.js";
import { byteLengthOf, type DType } from "../../tensor/dtype.js";
import { u32, u64 } from "../../util/bytes.js";
import { ByteWriter } from "../../util/byte-writer.js";
import { varintBytes } from "../../protobuf/wire.js";
import { PADDLE_DTYPE_TO_IR, paddleDtypeName } from "./dtypes.js";
import { decodeTensorDesc, int64ToNumber } from "./program.js";

// One record of Paddle's binary tensor stream (.pdiparams, legacy per-variable files):
//   u32 lod version (0) | u64 lod level count | per level: u64 byte size + offsets |
//   u32 tensor version (0) | i32 desc size | TensorDesc protobuf | raw little-endian data.

/** Bigger TensorDescs do not exist (two fields); this bounds a hostile length. */
const MAX_DESC_BYTES = 1 << 20;

export interface TensorRecord {
  /** Offset of the record's first byte. */
  offset: number;
  dtype: DType;
  /** VarType.Type number as written. */
  dataType: number;
  shape: number[];
  dataOffset: number;
  dataLength: number;
  /** Offset just past the record. */
  end: number;
  /** LoD levels the record carried (skipped; parameters have none). */
  lodLevels: number;
}

/** Reads the record header at `offset` (positioned reads only: the data stays in the file). */
export async function readTensorRecord(source: ByteSource, offset: number, label: string): Promise<TensorRecord> {
  const file = source.name;
  const fail = (code: "truncated" | "corrupt" | "unsupported", why: string, at: number) =>
    new WeightbridgeError(code, why, { file, tensor: label, offset: at });
  const need = (at: number, n: number) => {
    if (at + n > source.size) throw fail("truncated", `tensor record needs ${n} bytes at ${at} but the file ends at ${source.size}`, at);
  };
  need(offset, 12);
  const head = await source.read(offset, 12);
  if (u32(head, 0) !== 0) throw fail("unsupported", `tensor record version ${u32(head, 0)} (only 0 exists)`, offset);
  const lodLevels = u64(head, 4);
  let at = offset + 12;
  if (!(lodLevels <= (source.size - at) / 8)) throw fail("corrupt", `LoD level count ${lodLevels} does not fit the file`, offset + 4);
  for (let level = 0; level < lodLevels; level++) {
    need(at, 8);
    const levelBytes = u64(await source.read(at, 8), 0);
    if (!(levelBytes <= source.size - at - 8)) throw fail("corrupt", `LoD level of ${levelBytes} bytes does not fit the file`, at);
    at += 8 + levelBytes;
  }
  need(at, 8);
  const versions = await source.read(at, 8);
  if (u32(versions, 0) !== 0) throw fail("unsupported", `tensor version ${u32(versions, 0)} (only 0 exists)`, at);
  const descSize = u32(versions, 4);
  at += 8;
  if (descSize > MAX_DESC_BYTES || descSize > source.size - at) throw fail("corrupt", `TensorDesc size ${descSize | 0} does not fit the file`, at - 4);
  const desc = decodeTensorDesc(await source.read(at, descSize), file, at);
  const descAt = at;
  at += descSize;
  const dataType = desc.data_type ?? -1;
  const dtype = PADDLE_DTYPE_TO_IR[dataType];
  if (!dtype) throw fail("unsupported", `tensor element type ${paddleDtypeName(dataType)}`, descAt);
  const shape = desc.dims.map(int64ToNumber);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail("corrupt", `tensor dims [${shape.join(", ")}] are not sizes`, descAt);
  const dataLength = byteLengthOf(dtype, shape);
  if (!(dataLength <= source.size - at)) {
    throw fail("truncated", `${dtype}[${shape.join(", ")}] needs ${dataLength} bytes at ${at} but the file ends at ${source.size}`, at);
  }
  return { offset, dtype, dataType, shape, dataOffset: at, dataLength, end: at + dataLength, lodLevels };
}

/** The bytes before a record's data, exactly as Paddle's C++ writes them (dims unpacked). */
export function tensorRecordHeader(dataType: number, shape: readonly number[]): Uint8Array {
  const desc = new ByteWriter();
  desc.u8(0x08);
  desc.bytes(varintBytes(dataType));
  for (const d of shape) {
    desc.u8(0x10);
    desc.bytes(varintBytes(d));
  }
  const descBytes = desc.result();
  return new ByteWriter().u32(0).u64(0).u32(0).u32(descBytes.length).bytes(descBytes).result();
}
