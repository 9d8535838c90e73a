import type { Dim } from "../ir.js";
import { known, tuple, type KValue, type Lowering } from "./context.js";

// Shared by convolutions and pools: the spatial options of a Keras layer and the output size and
// ONNX pads they imply. Keras' "same" is TensorFlow's SAME: total padding so that the output is
// ceil(L / stride), the odd pixel at the end (ONNX SAME_UPPER, written as explicit pads when the
// input size is known).

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padding: "valid" | "same" | "causal";
}

export function windowOf(lower: Lowering, rank: number, kernelKey: string, stridesDefault?: number[]): Window {
  const c = lower.config;
  if (c.data_format === "channels_first") lower.refuse('data_format="channels_first"');
  const read = (key: string, fallback: number): number[] => {
    try {
      return tuple(c[key], rank, fallback);
    } catch {
      return lower.refuse(`${key}=${JSON.stringify(c[key])}`);
    }
  };
  const kernel = read(kernelKey, 1);
  const strides = c.strides === null || c.strides === undefined ? (stridesDefault ?? Array<number>(rank).fill(1)) : read("strides", 1);
  const dilations = read("dilation_rate", 1);
  const padding = (c.padding ?? "valid") as string;
  if (padding !== "valid" && padding !== "same" && padding !== "causal") lower.refuse(`padding=${JSON.stringify(padding)}`);
  return { kernel, strides, dilations, padding };
}

export interface Padded {
  /** ONNX pads: all begins, then all ends (undefined with autoPad). */
  pads?: number[];
  autoPad?: "SAME_UPPER";
  out: Dim[];
}

/** Output spatial sizes and pads of a window over `spatial`. */
export function padWindow(lower: Lowering, spatial: Dim[], w: Window): Padded {
  const rank = spatial.length;
  const begins: number[] = [];
  const ends: number[] = [];
  const out: Dim[] = [];
  let unknown = false;
  for (let i = 0; i < rank; i++) {
    const L = spatial[i]!;
    const k = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    const s = w.strides[i]!;
    if (w.padding === "causal") {
      begins.push(k - 1);
      ends.push(0);
      out.push(known(L) ? Math.floor((L + k - 1 - k) / s) + 1 : `${lower.call.id}_len${i}`);
      continue;
    }
    if (w.padding === "valid") {
      begins.push(0);
      ends.push(0);
      if (known(L) && L < k) lower.refuse(`kernel ${w.kernel.join("x")}`, `is larger than the input's ${L}`);
      out.push(known(L) ? Math.floor((L - k) / s) + 1 : `${lower.call.id}_len${i}`);
      continue;
    }
    if (!known(L)) {
      unknown = true;
      out.push(`${lower.call.id}_len${i}`);
      continue;
    }
    const size = Math.ceil(L / s);
    const total = Math.max((size - 1) * s + k - L, 0);
    begins.push(Math.floor(total / 2));
    ends.push(total - Math.floor(total / 2));
    out.push(size);
  }
  if (unknown) return { autoPad: "SAME_UPPER", out };
  return { pads: [...begins, ...ends], out };
}

/** The spatial dims of a channels-last Keras shape [N, ...spatial, C]. */
export function spatialOf(v: KValue, rank: number, lower: Lowering): Dim[] {
  if (v.shape.length !== rank + 2) lower.refuse(`an input of rank ${v.shape.length}`, `where a ${rank}D layer takes rank ${rank + 2}`);
  return v.shape.slice(1, -1);
}
