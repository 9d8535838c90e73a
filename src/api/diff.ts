import type { DType } from "../tensor/dtype.js";
import { WeightbridgeError } from "../errors.js";
import type { FormatId } from "../formats/index.js";
import { mapCheckpoint, type MapOptions } from "../mapping/index.js";
import { read, type Input } from "./open.js";
import { compareValues, comparableDTypes } from "./diff-values.js";

/** The mapping options (MapOptions) apply to A before comparing: A's names become B's. */
export interface DiffOptions extends Pick<MapOptions, "map" | "stripPrefix" | "addPrefix" | "layers"> {
  /** Absolute and relative tolerances; either one switches floating tensors to numeric comparison. */
  atol?: number;
  rtol?: number;
  fromA?: FormatId;
  fromB?: FormatId;
  select?: string;
  /** Called after each compared tensor: bytes of B compared so far, B's total, tensors done and their count. */
  onProgress?(done: number, total: number, tensorsDone?: number, tensorCount?: number): void;
}

export interface TensorDiff {
  name: string;
  /** Name in A before mapping, when different. */
  sourceA?: string;
  status: "equal" | "values" | "dtype" | "shape";
  dtypeA: DType;
  dtypeB: DType;
  shapeA: number[];
  shapeB: number[];
  /** Elements that differ (bits, or beyond tolerance). */
  differing?: number;
  firstIndex?: number;
  maxAbs?: number;
  maxRel?: number;
}

export interface DiffResult {
  equal: boolean;
  mode: "bit-exact" | "tolerance";
  atol?: number;
  rtol?: number;
  /** Tensors present on both sides. */
  compared: number;
  onlyInA: string[];
  onlyInB: string[];
  /** Every compared tensor, in B's order. */
  tensors: TensorDiff[];
  /** What the differences have in common, when something known explains them (one line each). */
  causes?: string[];
}

const BATCH_COUNTER = /(^|[./])num_batches_tracked$/;

/**
 * torch's BatchNorm batch counters are bookkeeping, not weights: formats without them (ONNX,
 * Keras, Paddle files not written by this version) come back with 0. Say so when they differ.
 */
function knownCauses(tensors: readonly TensorDiff[]): string[] {
  const counters = tensors.filter((t) => t.status === "values" && BATCH_COUNTER.test(t.name));
  if (counters.length === 0) return [];
  const others = tensors.filter((t) => t.status !== "equal").length - counters.length;
  return [
    `${counters.length} of the differences are BatchNorm batch counters (num_batches_tracked, max difference ${Math.max(...counters.map((t) => t.maxAbs ?? 0))}): ` +
      `bookkeeping of how many training batches a layer saw, which a round trip through a format without it (ONNX, Keras, older Paddle conversions) resets to 0; ` +
      `they change nothing the layers compute unless a BatchNorm has momentum=None and trains on${others > 0 ? `; the other ${others} difference(s) are not explained by this` : ""}`,
  ];
}

function checkTolerance(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new WeightbridgeError("usage", `--${name} must be a number ≥ 0, got ${value}`);
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Compares two model files tensor by tensor (after mapping A): names, dtypes, shapes and
 * values, bit-exact by default or within atol/rtol for floating tensors.
 */
export async function diff(a: Input, b: Input, options: DiffOptions = {}): Promise<DiffResult> {
  checkTolerance("atol", options.atol);
  checkTolerance("rtol", options.rtol);
  const tolerant = options.atol !== undefined || options.rtol !== undefined;
  const tolerance = tolerant ? { atol: options.atol ?? 0, rtol: options.rtol ?? 0 } : undefined;
  const left = await read(a, { format: options.fromA, select: options.select });
  try {
    const right = await read(b, { format: options.fromB, select: options.select });
    try {
      const { checkpoint: mapped, report } = await mapCheckpoint(left, {
        map: options.map,
        stripPrefix: options.stripPrefix,
        addPrefix: options.addPrefix,
        layers: options.layers,
      });
      const sourceOf = new Map(report.tensors.filter((t) => t.source && t.source !== t.target).map((t) => [t.target, t.source]));
      const inA = new Map(mapped.tensors.map((t) => [t.name, t]));
      const inB = new Set(right.tensors.map((t) => t.name));
      const tensors: TensorDiff[] = [];
      const paired = right.tensors.filter((t) => inA.has(t.name));
      const total = paired.reduce((n, t) => n + t.data.byteLength, 0);
      let done = 0;
      for (const tb of paired) {
        const ta = inA.get(tb.name)!;
        const d: TensorDiff = { name: tb.name, status: "equal", dtypeA: ta.dtype, dtypeB: tb.dtype, shapeA: ta.shape, shapeB: tb.shape };
        const source = sourceOf.get(tb.name);
        if (source) d.sourceA = source;
        if (!sameShape(ta.shape, tb.shape)) d.status = "shape";
        else if (!comparableDTypes(ta.dtype, tb.dtype, tolerant)) d.status = "dtype";
        else {
          const c = await compareValues(ta, tb, tolerance);
          Object.assign(d, { differing: c.differing, maxAbs: c.maxAbs, maxRel: c.maxRel });
          if (c.firstIndex !== undefined) d.firstIndex = c.firstIndex;
          if (c.differing > 0) d.status = "values";
        }
        tensors.push(d);
        done += tb.data.byteLength;
        options.onProgress?.(done, total, tensors.length, paired.length);
      }
      const onlyInA = mapped.tensors.filter((t) => !inB.has(t.name)).map((t) => t.name);
      const onlyInB = right.tensors.filter((t) => !inA.has(t.name)).map((t) => t.name);
      const result: DiffResult = {
        equal: onlyInA.length === 0 && onlyInB.length === 0 && tensors.every((t) => t.status === "equal"),
        mode: tolerant ? "tolerance" : "bit-exact",
        compared: tensors.length,
        onlyInA,
        onlyInB,
        tensors,
      };
      const causes = knownCauses(tensors);
      if (causes.length > 0) result.causes = causes;
      if (tolerance) {
        result.atol = tolerance.atol;
        result.rtol = tolerance.rtol;
      }
      return result;
    } finally {
      await right.close();
    }
  } finally {
    await left.close();
  }
}
