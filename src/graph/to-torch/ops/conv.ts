import { torchOps, type TorchOp } from "../op.js";
import { geometry, kwargs, tuple } from "./spatial.js";

// Conv and ConvTranspose in 1-3 D: an nn.ConvNd layer when the weights are initializers, the
// functional form when they are computed. Asymmetric and SAME padding become an F.pad line.

function spatialOf(op: TorchOp): number {
  const rank = op.initializer(1)?.shape.length ?? op.rank(1) ?? (op.hasAttr("kernel_shape") ? op.attrInts("kernel_shape").length + 2 : undefined);
  if (rank === undefined) op.refuse("the kernel's rank is unknown");
  if (rank < 3 || rank > 5) op.refuse(`${rank - 2}-D convolution is not covered (1-3 D are)`);
  return rank - 2;
}

/** The kernel size: kernel_shape, or the weights' shape (only SAME padding needs it when weights are computed). */
function kernelOf(op: TorchOp, spatial: number): number[] {
  if (op.hasAttr("kernel_shape")) return op.attrInts("kernel_shape");
  const w = op.initializer(1);
  if (w) return w.shape.slice(2, 2 + spatial);
  const autoPad = op.node.attributes.auto_pad;
  if (autoPad?.type === "string" && autoPad.value.startsWith("SAME")) op.refuse("kernel_shape is needed for SAME padding when the weights are computed");
  return Array(spatial).fill(1);
}

/** The layer (weights are initializers) or functional call of a Conv or ConvTranspose with these keyword arguments. */
function convolution(op: TorchOp, n: number, kernel: number[], x: string, args: Array<[string, string, string]>): string {
  const transposed = op.node.op === "ConvTranspose";
  const group = op.attrInt("group", 1);
  const options = kwargs([...args, ["groups", String(group), "1"]]);
  const w = op.initializer(1);
  const b = op.has(2) ? op.initializer(2) : undefined;
  if (w && (b || !op.has(2))) {
    const [inputs, outputs] = transposed ? [w.shape[0]!, w.shape[1]! * group] : [w.shape[1]! * group, w.shape[0]!];
    const ctor = `nn.${transposed ? "ConvTranspose" : "Conv"}${n}d(${inputs}, ${outputs}, ${tuple(kernel)}${options}${b ? "" : ", bias=False"})`;
    return `${op.layer(ctor, b ? { weight: w, bias: b } : { weight: w })}(${x})`;
  }
  return `F.${transposed ? "conv_transpose" : "conv"}${n}d(${x}, ${op.input(1)}, ${op.has(2) ? op.input(2) : "None"}${options})`;
}

torchOps.register({
  domain: "",
  op: "Conv",
  since: 1,
  handler: (op) => {
    const n = spatialOf(op);
    const kernel = kernelOf(op, n);
    const { x, g } = geometry(op, n, kernel, "0.0");
    const call = convolution(op, n, kernel, x, [
      ["stride", tuple(g.strides), tuple(Array(n).fill(1))],
      ["padding", tuple(g.padding), tuple(Array(n).fill(0))],
      ["dilation", tuple(g.dilations), tuple(Array(n).fill(1))],
    ]);
    op.assign(call, { rank: n + 2 });
  },
});

torchOps.register({
  domain: "",
  op: "ConvTranspose",
  since: 1,
  handler: (op) => {
    const n = spatialOf(op);
    const kernel = kernelOf(op, n);
    if (op.hasAttr("output_shape")) {
      op.attrInts("output_shape");
      op.refuse("output_shape is not covered (give pads instead)");
    }
    const outputPadding = op.attrInts("output_padding", Array(n).fill(0));
    const strides = op.attrInts("strides", Array(n).fill(1));
    const dilations = op.hasAttr("dilations") ? op.attrInts("dilations") : Array(n).fill(1);
    const autoPad = op.attrString("auto_pad", "NOTSET");
    if (autoPad !== "NOTSET" && autoPad !== "VALID") op.refuse(`auto_pad '${autoPad}' is not covered`);
    const pads = autoPad === "VALID" ? Array(2 * n).fill(0) : op.attrInts("pads", Array(2 * n).fill(0));
    const [begin, end] = [pads.slice(0, n), pads.slice(n)];
    const symmetric = begin.every((v, i) => v === end[i]);
    const call = convolution(op, n, kernel, op.input(0), [
      ["stride", tuple(strides), tuple(Array(n).fill(1))],
      ["padding", tuple(symmetric ? begin : Array(n).fill(0)), tuple(Array(n).fill(0))],
      ["output_padding", tuple(outputPadding), tuple(Array(n).fill(0))],
      ["dilation", tuple(dilations), tuple(Array(n).fill(1))],
    ]);
    if (symmetric) return op.assign(call, { rank: n + 2 });
    // Asymmetric pads: the full transposed convolution, cropped.
    const full = op.temp(`${op.output(0)}_full`);
    op.line(`${full} = ${call}`);
    const crop = begin.map((v, i) => `${v}:${full}.shape[${i + 2}] - ${end[i]}`);
    op.assign(`${full}[:, :, ${crop.join(", ")}]`, { rank: n + 2 });
  },
});
