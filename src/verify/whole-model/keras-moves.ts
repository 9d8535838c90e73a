import type { JsonValue } from "../../tensor/checkpoint.js";
import { kerasAxisPairs } from "../../keras/model-config.js";
import { NotCheckable } from "../params.js";
import { Disagreement } from "../reference.js";
import type { KerasNode } from "./keras-graph.js";
import { flat, product, unflat, type Value } from "./value.js";

// Layers that move values without computing new ones, in Keras' channels-last layout: each is an
// output shape and, for every output position, the input position it copies (or none: a zero).
// ZeroPadding, Cropping and nearest UpSampling in 1D/2D/3D, Permute, RepeatVector, Concatenate.

/** Builds the output by asking, for each of its positions (batch excluded), which input position it holds. */
function moved(x: Value, outShape: readonly number[], from: (at: number[]) => number[] | undefined): Value {
  const N = x.shape[0]!;
  const inShape = x.shape.slice(1);
  const P = product(inShape);
  const Q = product(outShape);
  const y = new Float64Array(N * Q);
  for (let q = 0; q < Q; q++) {
    const at = from(unflat(q, outShape));
    if (!at) continue;
    const p = flat(at, inShape);
    for (let n = 0; n < N; n++) y[n * Q + q] = x.data[n * P + p]!;
  }
  return { shape: [N, ...outShape], data: y };
}

function amounts(node: KerasNode, value: JsonValue | undefined, rank: number, option: string): Array<[number, number]> {
  const pairs = kerasAxisPairs(value, rank);
  if (!pairs) throw new NotCheckable(`layer ${node.name} has ${option}=${JSON.stringify(value)} (not covered)`);
  return pairs;
}

/** A spatial layer's input: [N, ...rank spatial axes, C], channels last. */
function spatialInput(node: KerasNode, x: Value, rank: number): number[] {
  if (node.config.data_format === "channels_first") throw new NotCheckable(`layer ${node.name} is channels_first (not covered)`);
  if (x.shape.length !== rank + 2) throw new Disagreement(`layer ${node.name} takes rank ${rank + 2}, its input is [${x.shape.join(",")}]`);
  return x.shape.slice(1, -1);
}

export function zeroPadding(rank: number) {
  return (node: KerasNode, x: Value): Value => {
    const spatial = spatialInput(node, x, rank);
    const pads = amounts(node, node.config.padding ?? 1, rank, "padding");
    const out = spatial.map((s, d) => s + pads[d]![0] + pads[d]![1]);
    return moved(x, [...out, x.shape[rank + 1]!], (at) => {
      const inside = at.map((a, d) => (d < rank ? a - pads[d]![0] : a));
      return inside.every((a, d) => d === rank || (a >= 0 && a < spatial[d]!)) ? inside : undefined;
    });
  };
}

export function cropping(rank: number) {
  return (node: KerasNode, x: Value): Value => {
    const spatial = spatialInput(node, x, rank);
    const crops = amounts(node, node.config.cropping ?? 0, rank, "cropping");
    const out = spatial.map((s, d) => s - crops[d]![0] - crops[d]![1]);
    if (out.some((d) => d < 1)) throw new Disagreement(`layer ${node.name} crops [${spatial.join(",")}] to nothing`);
    return moved(x, [...out, x.shape[rank + 1]!], (at) => at.map((a, d) => (d < rank ? a + crops[d]![0] : a)));
  };
}

export function upSampling(rank: number) {
  return (node: KerasNode, x: Value): Value => {
    const spatial = spatialInput(node, x, rank);
    const c = node.config;
    if ((c.interpolation ?? "nearest") !== "nearest")
      throw new NotCheckable(`layer ${node.name} has interpolation=${JSON.stringify(c.interpolation)} (only nearest is covered)`);
    const given = c.size ?? c.length ?? 2;
    const size = typeof given === "number" ? spatial.map(() => given) : Array.isArray(given) ? (given as number[]) : [];
    if (size.length !== rank) throw new NotCheckable(`layer ${node.name} has size=${JSON.stringify(c.size)} (not covered)`);
    return moved(x, [...spatial.map((s, d) => s * size[d]!), x.shape[rank + 1]!], (at) => at.map((a, d) => (d < rank ? Math.floor(a / size[d]!) : a)));
  };
}

export function permute(node: KerasNode, x: Value): Value {
  const dims = node.config.dims;
  if (!Array.isArray(dims) || dims.length !== x.shape.length - 1) throw new NotCheckable(`layer ${node.name} has dims=${JSON.stringify(dims)} (not covered)`);
  const order = (dims as number[]).map((d) => d - 1);
  const out = order.map((d) => x.shape[d + 1]!);
  return moved(x, out, (at) => {
    const from = new Array<number>(at.length);
    order.forEach((d, i) => (from[d] = at[i]!));
    return from;
  });
}

export function repeatVector(node: KerasNode, x: Value): Value {
  const n = node.config.n;
  if (typeof n !== "number" || x.shape.length !== 2)
    throw new NotCheckable(`layer ${node.name} has n=${JSON.stringify(n)} on rank ${x.shape.length} (not covered)`);
  return moved(x, [n, x.shape[1]!], (at) => [at[1]!]);
}

/** Concatenate on any axis but the batch: inputs stacked along it in order. */
export function concatenate(node: KerasNode, xs: Value[]): Value {
  const rank = xs[0]!.shape.length;
  const given = typeof node.config.axis === "number" ? node.config.axis : -1;
  const axis = given < 0 ? given + rank : given;
  if (axis < 1 || axis >= rank) throw new NotCheckable(`layer ${node.name} concatenates on axis ${given} (not covered)`);
  for (const x of xs)
    if (x.shape.length !== rank || x.shape.some((d, i) => i !== 0 && i !== axis && d !== xs[0]!.shape[i]))
      throw new Disagreement(`layer ${node.name} concatenates shapes ${xs.map((v) => `[${v.shape.join(",")}]`).join(" and ")} on axis ${axis}`);
  const N = xs[0]!.shape[0]!;
  const outer = product(xs[0]!.shape.slice(1, axis));
  const inner = product(xs[0]!.shape.slice(axis + 1));
  const widths = xs.map((x) => x.shape[axis]! * inner);
  const row = widths.reduce((a, b) => a + b, 0);
  const y = new Float64Array(N * outer * row);
  for (let r = 0; r < N * outer; r++) {
    let at = r * row;
    xs.forEach((x, i) => {
      y.set(x.data.subarray(r * widths[i]!, (r + 1) * widths[i]!), at);
      at += widths[i]!;
    });
  }
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((a, x) => a + x.shape[axis]!, 0);
  return { shape, data: y };
}

/** L2-normalized along `axis` (tf.linalg.l2_normalize: x / sqrt(max(Σx², 1e-12))). */
function l2Normalized(x: Value, axis: number): Value {
  const inner = product(x.shape.slice(axis + 1));
  const size = x.shape[axis]!;
  const data = Float64Array.from(x.data);
  for (let o = 0; o < x.data.length / (size * inner); o++)
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let k = 0; k < size; k++) sum += x.data[(o * size + k) * inner + i]! ** 2;
      const scale = 1 / Math.sqrt(Math.max(sum, 1e-12));
      for (let k = 0; k < size; k++) data[(o * size + k) * inner + i]! *= scale;
    }
  return { shape: x.shape, data };
}

/** Dot: per sample, the inputs contracted over one axis each; the rest of x's axes, then y's ([N, 1] when none remain). */
export function dot(node: KerasNode, xs: Value[]): Value {
  if (xs.length !== 2) throw new NotCheckable(`layer ${node.name} (Dot) takes ${xs.length} inputs`);
  const given = node.config.axes;
  const pair = typeof given === "number" ? [given, given] : Array.isArray(given) && given.length === 2 ? (given as number[]) : undefined;
  if (!pair) throw new NotCheckable(`layer ${node.name} has axes=${JSON.stringify(given)} (not covered)`);
  let [x, y] = xs as [Value, Value];
  const [ax, ay] = pair.map((a, i) => (a < 0 ? a + xs[i]!.shape.length : a)) as [number, number];
  if (x.shape[ax] !== y.shape[ay]) throw new Disagreement(`layer ${node.name} contracts ${x.shape[ax]} with ${y.shape[ay]} values`);
  if (node.config.normalize === true) [x, y] = [l2Normalized(x, ax), l2Normalized(y, ay)];
  const restX = x.shape.slice(1).filter((_, i) => i + 1 !== ax);
  const restY = y.shape.slice(1).filter((_, i) => i + 1 !== ay);
  const N = x.shape[0]!;
  const K = x.shape[ax]!;
  const [PX, PY] = [product(x.shape.slice(1)), product(y.shape.slice(1))];
  const [QX, QY] = [product(restX), product(restY)];
  const out = new Float64Array(N * QX * QY);
  const index = (v: Value, axis: number, rest: number[], r: number, k: number) => {
    const at = unflat(r, rest);
    at.splice(axis - 1, 0, k);
    return flat(at, v.shape.slice(1));
  };
  for (let a = 0; a < QX; a++)
    for (let b = 0; b < QY; b++)
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += x.data[n * PX + index(x, ax, restX, a, k)]! * y.data[n * PY + index(y, ay, restY, b, k)]!;
        out[(n * QX + a) * QY + b] = sum;
      }
  const shape = [...restX, ...restY];
  return { shape: [N, ...(shape.length ? shape : [1])], data: out };
}
