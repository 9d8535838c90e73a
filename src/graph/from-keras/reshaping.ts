import { int, ints, string, type Attribute, type Dim } from "../ir.js";
import { known, type KValue, type Lowering } from "./context.js";
import { registerLayers } from "./registry.js";
import { kerasAxisPairs } from "../../keras/model-config.js";

// Layers that move values around: Flatten, Reshape, Permute, RepeatVector (channels-last, as
// Keras orders elements), and ZeroPadding, Cropping, UpSampling in 1D/2D/3D (on the spatial axes
// wherever the value holds them).

function only(lower: Lowering, xs: KValue[]): KValue {
  if (xs.length !== 1) lower.refuse(`${xs.length} inputs`, "where the layer takes one");
  return xs[0]!;
}

const product = (dims: Dim[]): Dim => dims.reduce<Dim>((a, b) => (known(a) && known(b) ? a * b : "flat"), 1);

registerLayers(["Flatten"], (lower, xs) => {
  const x = lower.toLast(only(lower, xs));
  if (lower.config.data_format === "channels_first") lower.refuse('data_format="channels_first"');
  if (x.shape.length <= 2) return x;
  return { ...x, name: lower.op("Flatten", [x.name], { axis: int(1) }), shape: [x.shape[0]!, product(x.shape.slice(1))] };
});

registerLayers(["Reshape"], (lower, xs) => {
  const x = lower.toLast(only(lower, xs));
  const target = lower.config.target_shape;
  if (!Array.isArray(target) || !target.every((d) => typeof d === "number")) return lower.refuse(`target_shape=${JSON.stringify(target)}`);
  const dims = target as number[];
  const total = product(x.shape.slice(1));
  const fixed = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const shape = dims.map((d) => (d === -1 ? (known(total) ? total / fixed : `${lower.call.id}_dim`) : d));
  if (known(total) && !dims.includes(-1) && fixed !== total) lower.refuse(`target_shape=${JSON.stringify(dims)}`, `does not hold the input's ${total} values`);
  return { ...x, name: lower.op("Reshape", [x.name, lower.constant("int64", [0, ...dims])]), shape: [x.shape[0]!, ...shape] };
});

registerLayers(["Permute"], (lower, xs) => {
  const x = lower.toLast(only(lower, xs));
  const dims = lower.config.dims;
  if (!Array.isArray(dims) || dims.length !== x.shape.length - 1) return lower.refuse(`dims=${JSON.stringify(dims)}`);
  const perm = [0, ...(dims as number[])];
  return { ...x, name: lower.op("Transpose", [x.name], { perm: ints(perm) }), shape: perm.map((p) => x.shape[p]!) };
});

registerLayers(["RepeatVector"], (lower, xs) => {
  const x = lower.toLast(only(lower, xs));
  const n = lower.config.n;
  if (typeof n !== "number" || x.shape.length !== 2) return lower.refuse(`n=${JSON.stringify(n)} on rank ${x.shape.length}`);
  const expanded = lower.op("Unsqueeze", [x.name, lower.constant("int64", [1])]);
  const y = lower.op("Tile", [expanded, lower.constant("int64", [1, n, 1])]);
  return { ...x, name: y, shape: [x.shape[0]!, n, x.shape[1]!] };
});

function pairs(lower: Lowering, value: unknown, rank: number, option: string): Array<[number, number]> {
  return kerasAxisPairs(value, rank) ?? lower.refuse(`${option}=${JSON.stringify(value)}`);
}

function spatialAxes(x: KValue): number[] {
  const r = x.shape.length;
  return Array.from({ length: r - 2 }, (_, i) => (x.channelsFirst ? i + 2 : i + 1));
}

for (const rank of [1, 2, 3]) {
  registerLayers([`ZeroPadding${rank}D`], (lower, xs) => {
    const x = only(lower, xs);
    if (lower.config.data_format === "channels_first") lower.refuse('data_format="channels_first"');
    if (x.shape.length !== rank + 2) lower.refuse(`an input of rank ${x.shape.length}`);
    const amounts = pairs(lower, lower.config.padding ?? 1, rank, "padding");
    const axes = spatialAxes(x);
    const r = x.shape.length;
    const begins = Array<number>(r).fill(0);
    const ends = Array<number>(r).fill(0);
    axes.forEach((a, i) => ([begins[a], ends[a]] = amounts[i]!));
    const y = lower.op("Pad", [x.name, lower.constant("int64", [...begins, ...ends])], { mode: string("constant") });
    const shape = x.shape.map((d, i) => (i >= 1 && i <= rank ? (known(d) ? d + amounts[i - 1]![0] + amounts[i - 1]![1] : d) : d));
    return { ...x, name: y, shape };
  });

  registerLayers([`Cropping${rank}D`], (lower, xs) => {
    const x = only(lower, xs);
    if (lower.config.data_format === "channels_first") lower.refuse('data_format="channels_first"');
    if (x.shape.length !== rank + 2) lower.refuse(`an input of rank ${x.shape.length}`);
    const amounts = pairs(lower, lower.config.cropping ?? 0, rank, "cropping");
    const spatial = x.shape.slice(1, -1);
    if (spatial.some((d) => !known(d))) lower.refuse("cropping", "of a dimension of unknown size");
    const starts = amounts.map(([b]) => b);
    const ends = amounts.map(([, e], i) => (spatial[i] as number) - e);
    const y = lower.op("Slice", [x.name, lower.constant("int64", starts), lower.constant("int64", ends), lower.constant("int64", spatialAxes(x))]);
    const shape = x.shape.map((d, i) => (i >= 1 && i <= rank ? ends[i - 1]! - starts[i - 1]! : d));
    return { ...x, name: y, shape };
  });

  registerLayers([`UpSampling${rank}D`], (lower, xs) => {
    const x = lower.toFirst(only(lower, xs));
    const c = lower.config;
    if (c.data_format === "channels_first") lower.refuse('data_format="channels_first"');
    const size =
      typeof c.size === "number"
        ? Array<number>(rank).fill(c.size)
        : Array.isArray(c.size)
          ? (c.size as number[])
          : rank === 1
            ? [Number(c.length ?? 2)]
            : lower.refuse(`size=${JSON.stringify(c.size)}`);
    const interpolation = (c.interpolation ?? "nearest") as string;
    if (interpolation !== "nearest" && interpolation !== "bilinear") lower.refuse(`interpolation=${JSON.stringify(interpolation)}`);
    // Keras repeats pixels (nearest) or resizes with half-pixel centers (tf.image.resize, bilinear).
    const attributes: Record<string, Attribute> =
      interpolation === "nearest"
        ? { mode: string("nearest"), coordinate_transformation_mode: string("asymmetric"), nearest_mode: string("floor") }
        : { mode: string("linear"), coordinate_transformation_mode: string("half_pixel") };
    const scales = lower.constant("float32", [1, 1, ...size]);
    const y = lower.op("Resize", [x.name, "", scales], attributes);
    const shape = x.shape.map((d, i) => (i >= 1 && i <= rank && known(d) ? d * size[i - 1]! : d));
    return { ...x, name: y, shape };
  });
}

registerLayers(["Resizing"], (lower, xs) => {
  const x = lower.toFirst(only(lower, xs));
  const c = lower.config;
  if (c.crop_to_aspect_ratio === true) lower.refuse("crop_to_aspect_ratio=true");
  if (c.pad_to_aspect_ratio === true) lower.refuse("pad_to_aspect_ratio=true");
  if (c.data_format === "channels_first") lower.refuse('data_format="channels_first"');
  if (x.shape.length !== 4) lower.refuse(`an input of rank ${x.shape.length}`);
  const [height, width] = [c.height, c.width];
  if (typeof height !== "number" || typeof width !== "number") return lower.refuse("height/width", "are not numbers");
  const interpolation = (c.interpolation ?? "bilinear") as string;
  // tf.image.resize: half-pixel centers; its nearest rounds (x + 0.5) * in/out down.
  const modes: Record<string, Record<string, Attribute>> = {
    bilinear: { mode: string("linear"), coordinate_transformation_mode: string("half_pixel") },
    nearest: { mode: string("nearest"), coordinate_transformation_mode: string("tf_half_pixel_for_nn"), nearest_mode: string("floor") },
  };
  const attributes = modes[interpolation] ?? lower.refuse(`interpolation=${JSON.stringify(interpolation)}`);
  if (c.antialias === true) lower.refuse("antialias=true");
  // sizes = [N, C] of the input, then the target height and width.
  const batchAndChannels = lower.op("Slice", [lower.op("Shape", [x.name]), lower.constant("int64", [0]), lower.constant("int64", [2])]);
  const sizes = lower.op("Concat", [batchAndChannels, lower.constant("int64", [height, width])], { axis: int(0) });
  const y = lower.op("Resize", [x.name, "", "", sizes], attributes);
  return { ...x, name: y, shape: [x.shape[0]!, height, width, x.shape[3]!] };
});
