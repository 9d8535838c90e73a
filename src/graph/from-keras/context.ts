import type { Tensor } from "../../tensor/tensor.js";
import { bytesData, computedData, makeTensor } from "../../tensor/tensor.js";
import type { DType } from "../../tensor/dtype.js";
import { dtypeSize } from "../../tensor/dtype.js";
import { permuteBytes } from "../../kernels/permute.js";
import type { Attribute, Dim, GraphNode } from "../ir.js";
import type { KerasCall } from "../../keras/config-graph.js";
import { KerasLoweringError } from "./errors.js";

// What a Keras layer's lowering works with: values in Keras' own shapes (batch first, channels
// last) that may be held channels-first inside the graph, the layer's weights by role, and a
// node builder. Convolutions and pools want channels-first and leave their output so; layers
// that care about the axis order (Flatten, Dense on a feature map, Reshape) ask for channels-last,
// and a Transpose appears only where the layout changes (once per value).

export interface KValue {
  name: string;
  /** The Keras shape (channels-last for feature maps); batch and open dims are symbolic names. */
  shape: Dim[];
  dtype: DType;
  /** Held as [N, C, ...spatial] although Keras sees [N, ...spatial, C]. */
  channelsFirst?: boolean;
  /** A Keras mask: bool [batch, steps], false where a step is masked (Embedding mask_zero, Masking). */
  mask?: string;
}

export interface LoweringOptions {
  opset: number;
  /** Keras major version whose activation definitions apply (hard_sigmoid differs). */
  kerasMajor: number;
}

/** A weight of a layer: its role inside the layer (`kernel`, `forward_lstm/lstm_cell/kernel`) and tensor. */
export interface Weight {
  role: string;
  tensor: Tensor;
}

/** How an initializer was made from the file's weights (for the conversion report). */
export interface WeightLayout {
  sources: Tensor[];
  /** The layout changes in order, in the mapping report's notation (`transpose(3,2,0,1)`, `gates(axis 1: 0,3,1,2)`). */
  transforms: string[];
}

export class Lowering {
  readonly nodes: GraphNode[] = [];
  readonly initializers: Tensor[] = [];
  /** Initializers made from the file's weights by a layout change, by name; the others are the file's tensors as they are. */
  readonly layouts = new Map<string, WeightLayout>();
  private readonly names = new Set<string>();
  private readonly converted = new Map<string, string>();
  private readonly used = new Set<Tensor>();
  /** The call being lowered (names and messages). */
  call!: KerasCall;
  /** Every value computed so far by name (keyword tensors of a call are looked up here). */
  readonly values = new Map<string, KValue>();
  /** Only weights whose role starts with this (a Bidirectional's forward_/backward_ layer). */
  scope?: string;

  constructor(
    readonly options: LoweringOptions,
    private readonly weightsByLayer: ReadonlyMap<string, Weight[]>,
  ) {}

  reserve(name: string): void {
    this.names.add(name);
  }

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Refuses the current layer's option (exit 1 names layer, class and option). */
  refuse(option: string, why = "is not implemented"): never {
    throw new KerasLoweringError(this.call.layer.name, this.call.layer.className, option, why);
  }

  get config(): Record<string, unknown> {
    return this.call.layer.config as Record<string, unknown>;
  }

  /** Adds a node; returns its outputs' names. */
  node(op: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs = 1, outputNames?: string[]): string[] {
    const base = `${this.call.id}/${op}`;
    const name = this.fresh(base);
    const outs = outputNames ?? Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? `${name}:0` : `${name}:${i}`));
    this.nodes.push({ name, op, domain: "", inputs, outputs: outs, attributes, sourceLayer: this.call.layer.name });
    return outs;
  }

  op(op: string, inputs: string[], attributes: Record<string, Attribute> = {}): string {
    return this.node(op, inputs, attributes)[0]!;
  }

  /** The layer's weights, in file order. */
  weights(): Weight[] {
    const all = this.weightsByLayer.get(this.call.layer.name) ?? [];
    return this.scope === undefined ? all : all.filter((w) => w.role.startsWith(this.scope!));
  }

  /** The weight with this role (its name inside the layer); refuses when absent and required. */
  weight(role: string, shape?: Array<number | undefined>): Tensor;
  weight(role: string, shape: Array<number | undefined> | undefined, optional: true): Tensor | undefined;
  weight(role: string, shape?: Array<number | undefined>, optional?: boolean): Tensor | undefined {
    const found = this.weights().find((w) => w.role === role || (w.role.endsWith(`/${role}`) && !this.weights().some((o) => o.role === role)));
    if (!found) {
      if (optional) return undefined;
      throw new KerasLoweringError(
        this.call.layer.name,
        this.call.layer.className,
        `weight ${role}`,
        "is not in the weights file: the config does not match the weights",
      );
    }
    const t = found.tensor;
    if (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== undefined && d !== t.shape[i]))) {
      throw new KerasLoweringError(
        this.call.layer.name,
        this.call.layer.className,
        `weight ${role}`,
        `is [${t.shape.join(",")}] in the weights file, the config wants [${shape.map((d) => d ?? "?").join(",")}]: the config does not match the weights`,
      );
    }
    if (t.dtype !== "float32" && t.dtype !== "float64" && t.dtype !== "float16") {
      throw new KerasLoweringError(this.call.layer.name, this.call.layer.className, `weight ${role}`, `is ${t.dtype}, not a float`);
    }
    this.used.add(t);
    return t;
  }

  /** Weights of the layers lowered so far that no lowering used (a config not matching its weights). */
  unusedWeights(layers: Iterable<string>): Array<{ layer: string; tensor: Tensor }> {
    const out: Array<{ layer: string; tensor: Tensor }> = [];
    for (const layer of layers) for (const w of this.weightsByLayer.get(layer) ?? []) if (!this.used.has(w.tensor)) out.push({ layer, tensor: w.tensor });
    return out;
  }

  /** A checkpoint tensor as an initializer (float32, under its own name). */
  initializer(t: Tensor): string {
    return this.asFloat32(this.addInitializer(t), t.dtype, { sources: [t], transforms: [] });
  }

  /** The initializer, through a Cast node when it is not float32 (recorded with its layout). */
  private asFloat32(name: string, dtype: DType, layout: WeightLayout): string {
    const cast = dtype === "float32" ? [] : [`cast(${dtype}→float32) by a Cast node in the graph`];
    if (layout.transforms.length || cast.length) this.layouts.set(name, { ...layout, transforms: [...layout.transforms, ...cast] });
    return cast.length ? this.op("Cast", [name], { to: { type: "int", value: 1 } }) : name;
  }

  private addInitializer(t: Tensor): string {
    if (!this.initializers.includes(t)) {
      if (this.names.has(t.name)) return this.initializerUnderOtherName(t);
      this.names.add(t.name);
      this.initializers.push(t);
    }
    return t.name;
  }

  private initializerUnderOtherName(t: Tensor): string {
    const renamed = makeTensor(this.fresh(t.name), t.dtype, t.shape, t.data, { layer: t.layer });
    this.initializers.push(renamed);
    this.layouts.set(renamed.name, { sources: [t], transforms: [] });
    return renamed.name;
  }

  /** A checkpoint tensor permuted (lazily, when written) and added as an initializer. */
  permuted(t: Tensor, perm: number[], suffix: string): string {
    const shape = perm.map((p) => t.shape[p]!);
    const size = dtypeSize(t.dtype);
    const data = computedData(t.data.byteLength, async () => permuteBytes(await t.data.read(), t.shape, size, perm));
    const name = this.addInitializer(makeTensor(this.fresh(`${t.name.replace(/:\d+$/, "")}${suffix}`), t.dtype, shape, data, { layer: t.layer }));
    return this.asFloat32(name, t.dtype, { sources: [t], transforms: [`transpose(${perm.join(",")})`] });
  }

  /** A float32 initializer computed (when written) from checkpoint tensors: packed recurrent weights. */
  computed(base: string, shape: number[], from: Tensor[], transforms: string[], compute: (parts: Float32Array[]) => Float32Array): string {
    for (const t of from) if (t.dtype !== "float32") this.refuse(`weight ${t.name}`, `is ${t.dtype} (float32 is implemented)`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = computedData(n * 4, async () => {
      const parts = await Promise.all(
        from.map(async (t) => {
          const bytes = await t.data.read();
          return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        }),
      );
      const out = compute(parts);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    });
    const t = makeTensor(this.fresh(base), "float32", shape, data, { layer: from[0]?.layer });
    this.initializers.push(t);
    this.layouts.set(t.name, { sources: from, transforms });
    return t.name;
  }

  /** A small constant (shapes, axes, scalars) as an initializer. */
  constant(dtype: "int64" | "float32", values: number[], shape: number[] = [values.length]): string {
    const bytes = new Uint8Array(values.length * (dtype === "int64" ? 8 : 4));
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => (dtype === "int64" ? view.setBigInt64(i * 8, BigInt(v), true) : view.setFloat32(i * 4, v, true)));
    const t = makeTensor(this.fresh(`${this.call.id}/const`), dtype, shape, bytesData(bytes));
    this.initializers.push(t);
    return t.name;
  }

  scalar(value: number): string {
    return this.constant("float32", [value], []);
  }

  /** The value held channels-last (Keras' own layout). */
  toLast(v: KValue): KValue {
    if (!v.channelsFirst) return v;
    const r = v.shape.length;
    const perm = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
    return { ...v, name: this.transposeOnce(v.name, perm, "last"), channelsFirst: false };
  }

  /** The value held channels-first ([N, C, ...spatial]). */
  toFirst(v: KValue): KValue {
    if (v.channelsFirst || v.shape.length < 3) return { ...v, channelsFirst: v.shape.length >= 3 };
    const r = v.shape.length;
    const perm = [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
    return { ...v, name: this.transposeOnce(v.name, perm, "first"), channelsFirst: true };
  }

  private transposeOnce(name: string, perm: number[], which: string): string {
    const key = `${name}\u0000${which}`;
    let out = this.converted.get(key);
    if (!out) {
      out = this.op("Transpose", [name], { perm: { type: "ints", value: perm } });
      this.converted.set(key, out);
    }
    return out;
  }

  /** Where Keras axis `axis` (negative from the end) of `v` is in the value as held. */
  physicalAxis(v: KValue, axis: number): number {
    const r = v.shape.length;
    const a = axis < 0 ? axis + r : axis;
    if (a < 0 || a >= r) this.refuse(`axis=${axis}`, `is outside a rank-${r} input`);
    if (!v.channelsFirst) return a;
    return a === 0 ? 0 : a === r - 1 ? 1 : a + 1;
  }

  /** The value's shape as held. */
  physicalShape(v: KValue): Dim[] {
    if (!v.channelsFirst) return v.shape;
    return [v.shape[0]!, v.shape[v.shape.length - 1]!, ...v.shape.slice(1, -1)];
  }
}

/** A Keras config's integer or tuple option, as `n` numbers. */
export function tuple(value: unknown, n: number, fallback: number): number[] {
  if (typeof value === "number") return Array<number>(n).fill(value);
  if (Array.isArray(value) && value.length === n && value.every((v) => typeof v === "number")) return value as number[];
  if (value === undefined || value === null) return Array<number>(n).fill(fallback);
  throw new Error(`expected ${n} numbers, got ${JSON.stringify(value)}`);
}

export const known = (d: Dim | undefined): d is number => typeof d === "number";
