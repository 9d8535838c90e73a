import { type DType, dtypeSize } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import { type TensorProto, int64Of } from "./schema.js";

/** TensorProto.DataType ids of the dtypes weightbridge has. */
const ONNX_TYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  complex64: 14,
  complex128: 15,
  bfloat16: 16,
  float8_e4m3fn: 17,
  float8_e5m2: 19,
  uint4: 21,
  int4: 22,
};

const FROM_ONNX = new Map<number, DType>(Object.entries(ONNX_TYPE).map(([d, id]) => [id, d as DType]));

const ONNX_NAMES = [
  "UNDEFINED",
  "FLOAT",
  "UINT8",
  "INT8",
  "UINT16",
  "INT16",
  "INT32",
  "INT64",
  "STRING",
  "BOOL",
  "FLOAT16",
  "DOUBLE",
  "UINT32",
  "UINT64",
  "COMPLEX64",
  "COMPLEX128",
  "BFLOAT16",
  "FLOAT8E4M3FN",
  "FLOAT8E4M3FNUZ",
  "FLOAT8E5M2",
  "FLOAT8E5M2FNUZ",
  "UINT4",
  "INT4",
  "FLOAT4E2M1",
  "FLOAT8E8M0",
  "UINT2",
  "INT2",
];

export function onnxTypeName(id: number): string {
  return ONNX_NAMES[id] ?? `data type ${id}`;
}

/** The IR dtype of an ONNX data type, or undefined when weightbridge has none (STRING, INT4 ...). */
export function dtypeFromOnnx(id: number): DType | undefined {
  return FROM_ONNX.get(id);
}

export function onnxTypeOf(dtype: DType, tensor?: string): number {
  const id = ONNX_TYPE[dtype];
  if (id === undefined) throw new WeightbridgeError("unsupported", `dtype ${dtype} has no ONNX element type`, { tensor });
  return id;
}

/** The lowest IR version that has every one of these dtypes (FLOAT8 needs 9, INT4/UINT4 10, the rest 4). */
export function minIrVersionFor(dtypes: Iterable<DType>): number {
  let ir = 8;
  for (const d of dtypes) {
    if (d === "int4" || d === "uint4") ir = 10;
    else if ((d === "float8_e4m3fn" || d === "float8_e5m2") && ir < 9) ir = 9;
  }
  return ir;
}

/**
 * Little-endian element bytes from a TensorProto's typed value field (float_data, int32_data,
 * int64_data, double_data, uint64_data), or undefined when none holds data.
 * int32_data carries 8/16-bit integers, bool and the 16/8-bit float *bit patterns*.
 */
export function typedFieldBytes(proto: TensorProto, dtype: DType, numel: number, tensor: string): Uint8Array | undefined {
  const components = dtype === "complex64" || dtype === "complex128" ? 2 : 1;
  // INT4/UINT4 in int32_data: one packed byte (two values, the first in the low nibble) per entry.
  const count = dtype === "int4" || dtype === "uint4" ? Math.ceil(numel / 2) : numel * components;
  const field = typedFieldOf(dtype);
  const values = proto[field] as unknown[];
  if (values.length === 0) return count === 0 ? new Uint8Array(0) : undefined;
  if (values.length !== count) {
    throw new WeightbridgeError("corrupt", `${field} holds ${values.length} values but the shape needs ${count}`, { tensor });
  }
  const size = Math.max(1, dtypeSize(dtype) / components);
  const out = new Uint8Array(count * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const v = values[i];
    switch (field) {
      case "float_data":
        view.setFloat32(i * 4, v as number, true);
        break;
      case "double_data":
        view.setFloat64(i * 8, v as number, true);
        break;
      case "int64_data":
        view.setBigInt64(i * 8, int64Of(v as never), true);
        break;
      case "uint64_data":
        if (size === 8) view.setBigUint64(i * 8, BigInt.asUintN(64, int64Of(v as never)), true);
        else view.setUint32(i * 4, Number(BigInt.asUintN(32, int64Of(v as never))), true);
        break;
      case "int32_data":
        if (size === 4) view.setInt32(i * 4, v as number, true);
        else if (size === 2) view.setUint16(i * 2, (v as number) & 0xffff, true);
        else out[i] = (v as number) & 0xff;
        break;
    }
  }
  return out;
}

type TypedField = "float_data" | "double_data" | "int32_data" | "int64_data" | "uint64_data";

function typedFieldOf(dtype: DType): TypedField {
  switch (dtype) {
    case "float32":
    case "complex64":
      return "float_data";
    case "float64":
    case "complex128":
      return "double_data";
    case "int64":
      return "int64_data";
    case "uint32":
    case "uint64":
      return "uint64_data";
    default:
      return "int32_data";
  }
}
