import type { TorchOp } from "../op.js";
import { pyList, pyTuple } from "../python.js";

// What convolutions and pools share: kernel geometry attributes, and ONNX's pads (begin values
// for every spatial axis, then end values) which torch takes only when they are symmetric.

export interface Geometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Symmetric per-axis padding for the torch layer. */
  padding: number[];
}

export const tuple = (values: number[]): string => pyTuple(values.map(String));

const SAME_PAD = `def onnx_same_pad(x, kernel, strides, dilations, upper, value=0.0):
    # ONNX auto_pad SAME_UPPER / SAME_LOWER: the output is ceil(size / stride) long.
    pads = []
    for i in range(len(kernel) - 1, -1, -1):
        size = x.shape[2 + i]
        total = max((-(-size // strides[i]) - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size, 0)
        small = total // 2
        pads += [small, total - small] if upper else [total - small, small]
    return F.pad(x, pads, value=value)
`;

/**
 * Reads kernel_shape, strides, dilations, pads and auto_pad; writes the padding torch cannot
 * express in its layer (asymmetric pads, SAME) as an explicit F.pad line, and returns the input
 * to feed the layer and the geometry for it.
 */
export function geometry(
  op: TorchOp,
  spatial: number,
  kernel: number[],
  padValue: string,
  pool = false,
  allowPadLine = true,
  input = op.input(0),
): { x: string; g: Geometry } {
  const strides = op.attrInts("strides", Array(spatial).fill(1));
  const dilations = op.hasAttr("dilations") ? op.attrInts("dilations") : Array(spatial).fill(1);
  const autoPad = op.attrString("auto_pad", "NOTSET");
  let pads = op.attrInts("pads", Array(spatial * 2).fill(0));
  let x = input;
  if (autoPad === "VALID") pads = Array(spatial * 2).fill(0);
  else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    if (!allowPadLine) op.refuse(`auto_pad ${autoPad} is not covered here`);
    const helper = op.helper("onnx_same_pad", SAME_PAD);
    const padded = op.temp(`${x}_padded`);
    op.line(
      `${padded} = ${helper}(${x}, ${tuple(kernel)}, ${tuple(strides)}, ${tuple(dilations)}, ${autoPad === "SAME_UPPER" ? "True" : "False"}, ${padValue})`,
    );
    return { x: padded, g: { kernel, strides, dilations, padding: Array(spatial).fill(0) } };
  } else if (autoPad !== "NOTSET") op.refuse(`auto_pad '${autoPad}' is not covered`);
  if (!padLine(op, spatial, kernel, pool)) return { x, g: { kernel, strides, dilations, padding: pads.slice(0, spatial) } };
  const [begin, end] = [pads.slice(0, spatial), pads.slice(spatial)];
  if (!allowPadLine) op.refuse(`asymmetric pads ${pyList(pads.map(String))} are not covered here`);
  const torchPads: number[] = [];
  for (let i = spatial - 1; i >= 0; i--) torchPads.push(begin[i]!, end[i]!);
  const padded = op.temp(`${x}_padded`);
  op.line(`${padded} = F.pad(${x}, ${pyList(torchPads.map(String))}, value=${padValue})`);
  x = padded;
  return { x, g: { kernel, strides, dilations, padding: Array(spatial).fill(0) } };
}

/** Whether the node's padding needs an F.pad line (SAME, asymmetric pads, or pool pads over half the kernel). */
export function padLine(op: TorchOp, spatial: number, kernel: number[], pool: boolean): boolean {
  const autoPad = op.attrString("auto_pad", "NOTSET");
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") return true;
  if (autoPad !== "NOTSET") return false;
  const pads = op.attrInts("pads", Array(spatial * 2).fill(0));
  const [begin, end] = [pads.slice(0, spatial), pads.slice(spatial)];
  return !begin.every((b, i) => b === end[i]) || (pool && !begin.every((b, i) => b <= Math.floor(kernel[i]! / 2)));
}

/** `name=value` for the arguments that differ from torch's defaults. */
export function kwargs(entries: Array<[string, string, string]>): string {
  return entries
    .filter(([, value, fallback]) => value !== fallback)
    .map(([k, v]) => `, ${k}=${v}`)
    .join("");
}
