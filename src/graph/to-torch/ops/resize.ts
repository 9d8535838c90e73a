import { torchOps, type TorchOp } from "../op.js";
import { pyFloat, pyList } from "../python.js";

// Resize / Upsample as F.interpolate, for the ONNX modes that are one of torch's: nearest with
// asymmetric coordinates and floor (torch "nearest"), with half_pixel and round_prefer_ceil
// ("nearest-exact"), (bi/tri)linear with half_pixel or align_corners, bicubic with a = -0.75.

const LINEAR = ["", "linear", "bilinear", "trilinear"];

interface ResizeSpec {
  mode: string;
  coordinates: string;
  nearest: string;
  scales?: number[] | string;
  sizes?: string;
  rank?: number;
}

function interpolate(op: TorchOp, spec: ResizeSpec): void {
  const x = op.input(0);
  const torchNearest =
    (spec.coordinates === "asymmetric" && spec.nearest === "floor") || (spec.coordinates === "half_pixel" && spec.nearest === "round_prefer_ceil");
  if (spec.mode === "nearest" && !torchNearest) return nearestByIndex(op, spec);
  const spatial = (spec.rank ?? op.rank(0) ?? op.refuse("the input's rank is unknown")) - 2;
  let mode: string;
  let align = "";
  if (spec.mode === "nearest") {
    if (spec.coordinates === "asymmetric" && spec.nearest === "floor") mode = "nearest";
    else if (spec.coordinates === "half_pixel" && spec.nearest === "round_prefer_ceil") mode = "nearest-exact";
    else return nearestByIndex(op, spec);
  } else if (spec.mode === "linear" || spec.mode === "cubic") {
    mode = spec.mode === "cubic" ? "bicubic" : (LINEAR[spatial] ?? op.refuse(`${spatial}-D linear resize is not covered`));
    if (spec.mode === "cubic" && spatial !== 2) op.refuse("cubic resize is covered in 2-D only");
    if (spec.coordinates === "align_corners") align = ", align_corners=True";
    else if (spec.coordinates === "half_pixel") align = ", align_corners=False";
    else if (spec.coordinates === "pytorch_half_pixel" && !mayShrinkToOne(spec)) align = ", align_corners=False";
    else
      op.refuse(
        `${spec.mode} with ${spec.coordinates} coordinates is not covered${spec.coordinates === "pytorch_half_pixel" ? " where an output axis may have length 1" : ""}`,
      );
    // ONNX maps align_corners coordinates with the unrounded scaled length; torch with the output size.
    if (spec.coordinates === "align_corners" && !spec.sizes) op.refuse("align_corners with scales is not covered (give sizes)");
  } else op.refuse(`mode '${spec.mode}' is not covered`);
  let target: string;
  if (spec.sizes) target = `size=${spec.sizes}[2:]`;
  else if (Array.isArray(spec.scales)) {
    if (spec.scales.length !== spatial + 2 || spec.scales[0] !== 1 || spec.scales[1] !== 1)
      op.refuse(`scales ${pyList(spec.scales.map(String))} resize the batch or channel axis`);
    target = `scale_factor=${pyList(spec.scales.slice(2).map(pyFloat))}`;
  } else target = `scale_factor=[float(s) for s in ${spec.scales}[2:]]`;
  op.assign(`F.interpolate(${x}, ${target}, mode="${mode}"${align})`, { rank: spatial + 2 });
}

/** pytorch_half_pixel is half_pixel except on output axes of length 1: only known absent when not shrinking. */
function mayShrinkToOne(spec: ResizeSpec): boolean {
  if (Array.isArray(spec.scales)) return spec.scales.some((s) => s < 1);
  if (spec.sizes?.startsWith("["))
    return spec.sizes
      .slice(1, -1)
      .split(",")
      .slice(2)
      .some((s) => Number(s) <= 1);
  return true;
}

const NEAREST = `def onnx_resize_nearest(x, scales, sizes, coordinates, rounding):
    # ONNX Resize (mode nearest): on every axis, the source index of each output index.
    for axis in range(x.dim()):
        size = x.shape[axis]
        if sizes is not None:
            out = int(sizes[axis])
            scale = out / size
        else:
            scale = float(scales[axis])
            out = int(math.floor(size * scale))
        if out == size and scale == 1:
            continue
        i = torch.arange(out, dtype=torch.float64, device=x.device)
        if coordinates == "asymmetric":
            src = i / scale
        elif coordinates == "align_corners":
            src = i * ((size - 1) / (out - 1)) if out > 1 else i * 0
        elif coordinates == "pytorch_half_pixel" and out == 1:
            src = i * 0
        else:
            src = (i + 0.5) / scale - 0.5
        if rounding == "round_prefer_floor":
            src = torch.ceil(src - 0.5)
        elif rounding == "round_prefer_ceil":
            src = torch.floor(src + 0.5)
        elif rounding == "floor":
            src = torch.floor(src)
        else:
            src = torch.ceil(src)
        x = x.index_select(axis, src.clamp(0, size - 1).long())
    return x
`;

const NEAREST_COORDINATES = ["asymmetric", "align_corners", "half_pixel", "pytorch_half_pixel"];

/** Nearest-neighbour modes torch's interpolate has no name for, as source indices per axis. */
function nearestByIndex(op: TorchOp, spec: ResizeSpec): void {
  if (!NEAREST_COORDINATES.includes(spec.coordinates)) op.refuse(`nearest with ${spec.coordinates} coordinates is not covered`);
  op.useMath();
  const scales = spec.sizes ? "None" : Array.isArray(spec.scales) ? pyList(spec.scales.map(pyFloat)) : spec.scales!;
  const sizes = spec.sizes ?? "None";
  op.assign(`${op.helper("onnx_resize_nearest", NEAREST)}(${op.input(0)}, ${scales}, ${sizes}, "${spec.coordinates}", "${spec.nearest}")`, {
    comment: true,
    rank: op.rank(0),
  });
}

const scalesOf = (op: TorchOp, i: number): number[] | string => op.constant(i)?.values ?? `${op.input(i)}.tolist()`;

/** Upsample 7–9 and Resize 10: scales only (an attribute before Upsample 9, then input 1), asymmetric coordinates, floor. */
function scaleOnlyResize(op: TorchOp): void {
  const scales = op.node.op === "Upsample" && op.version < 9 ? op.attrFloats("scales") : scalesOf(op, 1);
  interpolate(op, {
    mode: op.attrString("mode", "nearest"),
    coordinates: "asymmetric",
    nearest: "floor",
    scales,
    rank: Array.isArray(scales) ? scales.length : undefined,
  });
}
torchOps.register({ domain: "", op: "Upsample", since: 7, until: 9, handler: scaleOnlyResize });
torchOps.register({ domain: "", op: "Resize", since: 10, until: 10, handler: scaleOnlyResize });
torchOps.register({
  domain: "",
  op: "Resize",
  since: 11,
  handler: (op) => {
    const coordinates = op.attrString("coordinate_transformation_mode", "half_pixel");
    const mode = op.attrString("mode", "nearest");
    const nearest = op.attrString("nearest_mode", "round_prefer_floor");
    if (op.attrFloat("cubic_coeff_a", -0.75) !== -0.75) op.refuse("cubic_coeff_a other than -0.75 is not covered");
    if (op.attrInt("exclude_outside", 0)) op.refuse("exclude_outside=1 is not covered");
    op.attrFloat("extrapolation_value", 0);
    if (op.version >= 18) {
      if (op.attrInt("antialias", 0)) op.refuse("antialias=1 is not covered");
      if (op.hasAttr("axes")) op.refuse(`axes ${op.attrInts("axes").join(",")} are not covered`);
      if (op.attrString("keep_aspect_ratio_policy", "stretch") !== "stretch") op.refuse("keep_aspect_ratio_policy other than stretch is not covered");
    }
    if (coordinates === "tf_crop_and_resize") op.refuse("tf_crop_and_resize is not covered");
    const scalesGiven = op.has(2) && !(op.constant(2)?.values.length === 0);
    if (scalesGiven) {
      const scales = scalesOf(op, 2);
      return interpolate(op, { mode, coordinates, nearest, scales, rank: Array.isArray(scales) ? scales.length : undefined });
    }
    if (!op.has(3)) op.refuse("neither scales nor sizes is given");
    const sizes = op.constant(3);
    interpolate(op, { mode, coordinates, nearest, sizes: sizes ? pyList(sizes.values.map(String)) : `${op.input(3)}.tolist()`, rank: sizes?.values.length });
  },
});

// GridSample (opsets 16-19: 4-D input, modes bilinear/nearest/bicubic) is F.grid_sample itself.
torchOps.register({
  domain: "",
  op: "GridSample",
  since: 16,
  until: 19,
  handler: (op) => {
    const mode = op.attrString("mode", "bilinear");
    const padding = op.attrString("padding_mode", "zeros");
    const align = op.attrInt("align_corners", 0);
    if (!["bilinear", "nearest", "bicubic"].includes(mode)) op.refuse(`mode '${mode}' is not covered`);
    if (!["zeros", "border", "reflection"].includes(padding)) op.refuse(`padding_mode '${padding}' is not covered`);
    if (op.rank(0) !== undefined && op.rank(0) !== 4) op.refuse(`a ${op.rank(0)}-D input is not covered (4-D is)`);
    const args = `mode="${mode}", padding_mode="${padding}", align_corners=${align ? "True" : "False"}`;
    op.assign(`F.grid_sample(${op.input(0)}, ${op.input(1)}, ${args})`, { rank: 4 });
  },
});
