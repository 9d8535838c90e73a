import { computedData, type TensorData } from "../tensor/tensor.js";
import { type DType, byteLengthOf, dtypeSize, isFloating, isPacked, numelOf } from "../tensor/dtype.js";
import { castTensor } from "../kernels/cast-tensor.js";
import { canCast } from "../kernels/cast.js";
import { elementReader, elementWriter, filledBytes, hasNumericAccess } from "../kernels/elements.js";
import { WeightbridgeError } from "../errors.js";
import { chunkBytes, reorderBlocks } from "./layout.js";
import { isTrivialPermutation } from "../kernels/permute.js";
import { kernelWorkersAvailable, runKernel } from "../kernels/kernel-pool.js";
import { borrowBytes } from "../kernels/borrow.js";
import { pooledComputedData } from "../kernels/pooled-data.js";
import { streamedInBands } from "../kernels/banded-data.js";
import { bandedTransposePlan } from "../kernels/wasm/transpose-bands.js";
import type { ShapeEntry, Transform } from "./types.js";
import { flattenUnknownMessage, type FlattenUnknown } from "./flatten.js";

/** A tensor in the middle of being mapped: bytes still lazy. */
export interface Lazy {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export interface TransformContext {
  /** Tensor name, for error messages. */
  tensor: string;
  /** Attributes of the tensor's layer (hint, override). */
  attributes: Record<string, unknown>;
  /** Records a guess the transform had to make. */
  heuristic(name: string): void;
}

function fail(ctx: TransformContext, message: string): never {
  throw new WeightbridgeError("mapping", message, { tensor: ctx.tensor });
}

function derived(from: Lazy, dtype: DType, shape: number[], compute: (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>): Lazy {
  const source = from.data;
  return { dtype, shape, data: computedData(byteLengthOf(dtype, shape), async () => compute(await source.read())) };
}

/**
 * Like derived(), for a kernel that writes its result into a given buffer: the result goes into a
 * recycled buffer (pooled-data.ts), and the input is borrowed (a file range read into a recycled
 * scratch buffer, a pooled output lent), so the kernel must not return a view of it.
 */
function derivedFromScratch(from: Lazy, dtype: DType, shape: number[], kernel: (bytes: Uint8Array, out: Uint8Array) => Promise<Uint8Array>): Lazy {
  const source = from.data;
  const byteLength = byteLengthOf(dtype, shape);
  if (byteLength === 0) return derived(from, dtype, shape, (bytes) => kernel(bytes, new Uint8Array(0)));
  return { dtype, shape, data: pooledComputedData(byteLength, (out) => borrowBytes(source, (bytes) => kernel(bytes, out))) };
}

function checkAxis(ctx: TransformContext, t: Lazy, axis: number, op: string): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= t.shape.length) {
    fail(ctx, `${op}: axis ${axis} is outside a rank-${t.shape.length} tensor [${t.shape.join(", ")}]`);
  }
}

export function transpose(t: Lazy, perm: readonly number[], ctx: TransformContext): Lazy {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== t.shape.length || sorted.some((a, i) => a !== i)) {
    fail(ctx, `transpose [${perm.join(", ")}] does not fit shape [${t.shape.join(", ")}]`);
  }
  const shape = perm.map((a) => t.shape[a]!);
  if (isTrivialPermutation(t.shape, perm)) return { ...t, shape };
  const from = [...t.shape];
  const job = { kind: "permute" as const, shape: from, elementSize: dtypeSize(t.dtype), perm: [...perm] };
  const whole = derivedFromScratch(t, t.dtype, shape, (bytes, out) => runKernel(job, bytes, undefined, out));
  // With kernel workers (4+ cores, or WEIGHTBRIDGE_WORKERS), the whole-tensor path computes the
  // next transpose in a worker while this one is written; without them, bands on this thread win.
  const plan = kernelWorkersAvailable() ? undefined : bandedTransposePlan(from, perm, job.elementSize);
  return plan ? { ...whole, data: streamedInBands(whole.data, t.data, plan) } : whole;
}

function resolveEntry(entry: ShapeEntry, t: Lazy, ctx: TransformContext): number | undefined {
  if (typeof entry === "number") return entry;
  const alternatives = entry.split("|");
  for (let i = 0; i < alternatives.length; i++) {
    const alt = alternatives[i]!.trim();
    let value: number | undefined;
    const dim = /^d(\d+)$/.exec(alt);
    if (dim) value = t.shape[Number(dim[1])];
    else if (alt.startsWith("attr:")) {
      const v = ctx.attributes[alt.slice(5)];
      value = typeof v === "number" ? v : undefined;
    } else if (/^-?\d+$/.test(alt)) value = Number(alt);
    if (value !== undefined) {
      if (i > 0) ctx.heuristic(`reshape used '${alt}' because '${alternatives.slice(0, i).join("|")}' is unknown`);
      return value;
    }
  }
  return undefined;
}

export function reshape(t: Lazy, entries: readonly ShapeEntry[], ctx: TransformContext): Lazy {
  const sizes = entries.map((e) => resolveEntry(e, t, ctx));
  const missing = entries.filter((_, i) => sizes[i] === undefined);
  if (missing.length) {
    const attrs = missing
      .map(String)
      .filter((e) => e.startsWith("attr:"))
      .map((e) => e.slice(5));
    const how = attrs.length
      ? `: the source does not say the layer's ${attrs.join(", ")}; give it with --layer 'REGEX=KIND(${attrs.map((a) => `${a}=N`).join(",")})'`
      : "";
    fail(ctx, `reshape: cannot resolve ${missing.map(String).join(", ")}${how}`);
  }
  const known = sizes.filter((s) => s !== -1).reduce<number>((a, b) => a * b!, 1);
  const inferred = sizes.filter((s) => s === -1).length;
  const total = numelOf(t.shape);
  if (inferred > 1 || (inferred === 1 && (known === 0 || total % known !== 0))) {
    fail(ctx, `reshape [${entries.join(", ")}] does not fit shape [${t.shape.join(", ")}]`);
  }
  const shape = sizes.map((s) => (s === -1 ? total / known : s!));
  if (numelOf(shape) !== total) fail(ctx, `reshape to [${shape.join(", ")}] does not fit shape [${t.shape.join(", ")}]`);
  return { ...t, shape };
}

function gates(t: Lazy, axis: number, count: number, order: readonly number[], ctx: TransformContext): Lazy {
  checkAxis(ctx, t, axis, "gates");
  const sorted = [...order].sort((a, b) => a - b);
  if (order.length !== count || sorted.some((a, i) => a !== i)) fail(ctx, `gates: order [${order.join(", ")}] is not a permutation of ${count} gates`);
  if (t.shape[axis]! % count !== 0) fail(ctx, `gates: axis ${axis} of [${t.shape.join(", ")}] does not split into ${count} gates`);
  if (order.every((g, i) => g === i)) return t;
  const shape = [...t.shape];
  return derived(t, t.dtype, shape, (bytes) => reorderBlocks(bytes, shape, dtypeSize(t.dtype), axis, order));
}

function chunk(t: Lazy, axis: number, chunks: number, index: number, ctx: TransformContext): Lazy {
  checkAxis(ctx, t, axis, "chunk");
  if (t.shape[axis]! % chunks !== 0 || index < 0 || index >= chunks) {
    fail(ctx, `chunk: axis ${axis} of [${t.shape.join(", ")}] does not give block ${index} of ${chunks}`);
  }
  const from = [...t.shape];
  const shape = [...t.shape];
  shape[axis] = shape[axis]! / chunks;
  return derived(t, t.dtype, shape, (bytes) => chunkBytes(bytes, from, dtypeSize(t.dtype), axis, chunks, index));
}

function fill(t: Lazy, value: number | boolean): Lazy {
  const count = numelOf(t.shape);
  return { ...t, data: computedData(byteLengthOf(t.dtype, t.shape), async () => filledBytes(t.dtype, count, value)) };
}

function add(t: Lazy, value: number, ctx: TransformContext): Lazy {
  if (!isFloating(t.dtype) || !hasNumericAccess(t.dtype)) fail(ctx, `add: ${t.dtype} is not a floating dtype`);
  return derived(t, t.dtype, [...t.shape], (bytes) => {
    const out = new Uint8Array(bytes.byteLength);
    const get = elementReader(t.dtype, bytes),
      put = elementWriter(t.dtype, out);
    for (let i = 0, n = numelOf(t.shape); i < n; i++) put(i, get(i) + value);
    return out;
  });
}

function cast(t: Lazy, dtype: DType, ctx: TransformContext): Lazy {
  if (t.dtype === dtype) return t;
  if (!canCast(t.dtype, dtype)) fail(ctx, `cast: cannot cast ${t.dtype} to ${dtype}`);
  const c = castTensor({ name: ctx.tensor, ...t }, dtype);
  return { dtype: c.dtype, shape: c.shape, data: c.data };
}

interface FlattenedFrom {
  channels: number;
  /** The spatial sizes; when absent, one axis of (features / channels) positions (all the reorder needs). */
  spatial?: number[];
}

function flattenedFrom(ctx: TransformContext): FlattenedFrom | undefined {
  const v = ctx.attributes.flattenedFrom as Partial<FlattenedFrom> | undefined;
  if (!v || typeof v !== "object") return undefined;
  if (typeof v.channels !== "number" || (v.spatial !== undefined && (!Array.isArray(v.spatial) || !v.spatial.every((s) => typeof s === "number")))) {
    fail(ctx, "flattenedFrom must be {channels: C, spatial: [H, W]}");
  }
  return { channels: v.channels, spatial: v.spatial };
}

/**
 * Reorders the flattened input axis of a Dense/Linear weight between (C, spatial...) and
 * (spatial..., C): unflatten, move the channel axis, flatten again. A layer that follows
 * convolutions without a known pre-flatten shape (flatten.ts marks it) is refused.
 */
function flattenOrder(t: Lazy, axis: number, to: "channels_last" | "channels_first", ctx: TransformContext): Lazy | undefined {
  const f = flattenedFrom(ctx);
  if (!f) {
    const unknown = ctx.attributes.flattenUnknown as FlattenUnknown | undefined;
    if (unknown && ctx.attributes.flattenNone !== true) fail(ctx, flattenUnknownMessage(ctx.tensor, unknown));
    return undefined;
  }
  checkAxis(ctx, t, axis, "flattenOrder");
  const features = t.shape[axis]!;
  const spatial = f.spatial ?? (features % f.channels === 0 ? [features / f.channels] : undefined);
  if (!spatial || f.channels * numelOf(spatial) !== features) {
    fail(ctx, `flattenOrder: axis ${axis} of [${t.shape.join(", ")}] is not ${f.channels}×${(spatial ?? ["?"]).join("×")} features`);
  }
  const before = t.shape.slice(0, axis);
  const after = t.shape.slice(axis + 1);
  const s = spatial.length;
  const unflat = to === "channels_last" ? [f.channels, ...spatial] : [...spatial, f.channels];
  const inner = to === "channels_last" ? [...spatial.map((_, i) => i + 1), 0] : [s, ...spatial.map((_, i) => i)];
  const perm = [...before.map((_, i) => i), ...inner.map((i) => before.length + i), ...after.map((_, i) => before.length + s + 1 + i)];
  const expanded = reshape(t, [...before, ...unflat, ...after], ctx);
  return reshape(transpose(expanded, perm, ctx), [...t.shape], ctx);
}

/** Applies one transform; returns the result and a report line, or undefined when it did nothing. */
export function applyTransform(t: Lazy, spec: Transform, ctx: TransformContext): { tensor: Lazy; note: string } | undefined {
  // Byte kernels move whole elements; a 4-bit element has no byte of its own. Only a reshape keeps the bytes as they are.
  if (isPacked(t.dtype) && spec.op !== "reshape") fail(ctx, `${spec.op} of a ${t.dtype} tensor (two values per byte) is not supported`);
  switch (spec.op) {
    case "transpose": {
      const r = transpose(t, spec.perm, ctx);
      return { tensor: r, note: `transpose(${spec.perm.join(",")})` };
    }
    case "reshape": {
      const r = reshape(t, spec.shape, ctx);
      if (r.shape.length === t.shape.length && r.shape.every((d, i) => d === t.shape[i])) return undefined;
      return { tensor: r, note: `reshape([${t.shape.join(",")}]→[${r.shape.join(",")}])` };
    }
    case "gates": {
      const r = gates(t, spec.axis, spec.count, spec.order, ctx);
      return r === t ? undefined : { tensor: r, note: `gates(axis ${spec.axis}: ${spec.order.join(",")})` };
    }
    case "chunk":
      return { tensor: chunk(t, spec.axis, spec.chunks, spec.index, ctx), note: `chunk(axis ${spec.axis}: ${spec.index + 1} of ${spec.chunks})` };
    case "fill":
      return { tensor: fill(t, spec.value), note: `fill(${spec.value})` };
    case "add":
      return spec.value === 0 ? undefined : { tensor: add(t, spec.value, ctx), note: `add(${spec.value})` };
    case "cast": {
      const r = cast(t, spec.dtype, ctx);
      return r === t ? undefined : { tensor: r, note: `cast(${t.dtype}→${spec.dtype})` };
    }
    case "flattenOrder": {
      const r = flattenOrder(t, spec.axis, spec.to, ctx);
      return r ? { tensor: r, note: `flattenOrder(axis ${spec.axis} → ${spec.to})` } : undefined;
    }
  }
}
