import type { DType } from "../../tensor/dtype.js";
import { numelOf } from "../../tensor/dtype.js";
import { WeightbridgeError } from "../../errors.js";
import type { Quantization, TfliteTensor } from "./model.js";

// TFLite's affine quantization: real = (q - zero_point) * scale, with one (scale, zero_point)
// per tensor or one per slice along quantized_dimension.

/** A tensor's quantization with its axis checked against its shape; undefined when it has none. */
export interface Affine {
  scale: number[];
  zeroPoint: number[];
  /** The axis the parameters run along, or -1 for one pair for the whole tensor. */
  axis: number;
}

export function affineOf(tensor: TfliteTensor, file: string): Affine | undefined {
  const q: Quantization | undefined = tensor.quantization;
  if (!q || q.scale.length === 0) return undefined;
  const fail = (why: string) => new WeightbridgeError("corrupt", `quantization: ${why}`, { file, tensor: tensor.name });
  const zeroPoint = q.zeroPoint.length === 0 ? q.scale.map(() => 0) : q.zeroPoint;
  if (zeroPoint.length !== q.scale.length) throw fail(`${q.scale.length} scales but ${zeroPoint.length} zero points`);
  if (q.scale.length === 1) return { scale: q.scale, zeroPoint, axis: -1 };
  // The TOCO converter gives per-channel biases its filter's quantized_dimension (3 for a rank-1
  // bias); TFLite never reads a bias's axis, and a rank-1 tensor has one axis the scales can run along.
  const axis = q.axis < tensor.shape.length ? q.axis : tensor.shape.length === 1 ? 0 : q.axis;
  if (tensor.shape[axis] !== q.scale.length) {
    throw fail(`${q.scale.length} scales along quantized_dimension ${q.axis} of shape [${tensor.shape.join(", ")}]`);
  }
  return { scale: q.scale, zeroPoint, axis };
}

/** The integer values of quantized tensor bytes (little-endian), as numbers. */
export function integersOf(bytes: Uint8Array, dtype: DType): ArrayLike<number> {
  const view = (C: { new (b: ArrayBufferLike, o: number, n: number): ArrayLike<number> }, size: number) => {
    const copy = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
    return new C(copy.buffer, copy.byteOffset, copy.byteLength / size);
  };
  switch (dtype) {
    case "int8":
      return view(Int8Array, 1);
    case "uint8":
      return bytes;
    case "int16":
      return view(Int16Array, 2);
    case "uint16":
      return view(Uint16Array, 2);
    case "int32":
      return view(Int32Array, 4);
    case "int64": {
      const copy = bytes.slice();
      return Array.from(new BigInt64Array(copy.buffer, 0, copy.byteLength / 8), (v) => Number(v));
    }
    default:
      throw new WeightbridgeError("unsupported", `quantized ${dtype} tensors`);
  }
}

/** Slice length after the axis and the axis length: element i belongs to channel floor(i / inner) % channels. */
function channelLayout(shape: readonly number[], axis: number): { inner: number; channels: number } {
  if (axis < 0) return { inner: numelOf(shape), channels: 1 };
  return { inner: numelOf(shape.slice(axis + 1)), channels: shape[axis]! };
}

/**
 * (q - zero_point) * scale into float32 bytes. The product is taken in float64 and rounded once
 * to float32: for 8- and 16-bit values it is exactly TFLite's float product; for 32-bit values
 * (biases) it is the correctly rounded one.
 */
export function dequantize(bytes: Uint8Array, dtype: DType, shape: readonly number[], affine: Affine): Uint8Array {
  const q = integersOf(bytes, dtype);
  const out = new Float32Array(q.length);
  const { inner, channels } = channelLayout(shape, affine.axis);
  for (let i = 0; i < q.length; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    out[i] = (q[i]! - affine.zeroPoint[c]!) * affine.scale[c]!;
  }
  return new Uint8Array(out.buffer);
}

/** Inclusive integer range of a quantized storage type. */
export function integerRange(dtype: DType): [number, number] {
  switch (dtype) {
    case "int8":
      return [-128, 127];
    case "uint8":
      return [0, 255];
    case "int16":
      return [-32768, 32767];
    case "uint16":
      return [0, 65535];
    case "int32":
      return [-2147483648, 2147483647];
    default:
      throw new WeightbridgeError("unsupported", `re-quantizing into ${dtype}`);
  }
}

export interface Requantized {
  bytes: Uint8Array;
  /** Values that fell outside the integer range and were clipped to it. */
  clipped: number;
  /** The largest |value - dequantized result| in units of the slice's scale (0.5 when nothing clipped). */
  worstSteps: number;
}

/** round(value / scale) + zero_point per channel, clipped to the type's range (TFLite's own quantizer rounds half away from zero). */
export function requantize(values: Float32Array, dtype: DType, shape: readonly number[], affine: Affine, range = integerRange(dtype)): Requantized {
  const { inner, channels } = channelLayout(shape, affine.axis);
  const ints = new Float64Array(values.length);
  let clipped = 0;
  let worstSteps = 0;
  for (let i = 0; i < values.length; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    const scaled = values[i]! / affine.scale[c]!;
    let q = Math.sign(scaled) * Math.round(Math.abs(scaled)) + affine.zeroPoint[c]!;
    if (!Number.isFinite(q) || q < range[0] || q > range[1]) {
      clipped++;
      q = Number.isNaN(q) ? affine.zeroPoint[c]! : Math.min(range[1], Math.max(range[0], q));
    }
    ints[i] = q;
    worstSteps = Math.max(worstSteps, Math.abs(values[i]! / affine.scale[c]! - (q - affine.zeroPoint[c]!)));
  }
  return { bytes: integerBytes(ints, dtype), clipped, worstSteps };
}

function integerBytes(ints: Float64Array, dtype: DType): Uint8Array {
  switch (dtype) {
    case "int8":
      return new Uint8Array(Int8Array.from(ints).buffer);
    case "uint8":
      return Uint8Array.from(ints);
    case "int16":
      return new Uint8Array(Int16Array.from(ints).buffer);
    case "uint16":
      return new Uint8Array(Uint16Array.from(ints).buffer);
    case "int32":
      return new Uint8Array(Int32Array.from(ints).buffer);
    default:
      throw new WeightbridgeError("unsupported", `re-quantizing into ${dtype}`);
  }
}
