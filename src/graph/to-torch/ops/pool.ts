import { registerAll } from "../op.js";
import type { TorchOp } from "../op.js";
import { geometry, kwargs, padLine, tuple } from "./spatial.js";

// Pooling: nn.MaxPoolNd / nn.AvgPoolNd layers (no weights), global pools as reductions over the
// spatial axes. Padding torch's layers cannot take is written as an F.pad line (-inf for max).

function spatialOf(op: TorchOp): number {
  const n = op.attrInts("kernel_shape").length;
  if (n < 1 || n > 3) op.refuse(`${n}-D pooling is not covered (1-3 D are)`);
  return n;
}

registerAll(
  {
    MaxPool: (op) => {
      const n = spatialOf(op);
      const kernel = op.attrInts("kernel_shape");
      const dtype = op.dtype(0);
      if (dtype && !/^(float|bfloat)/.test(dtype)) op.refuse(`${dtype} input is not covered (torch pools floats only)`);
      if (op.attrInt("storage_order", 0) !== 0) op.refuse("storage_order=1 is not covered");
      if (op.wants(1)) op.refuse("the Indices output is not covered");
      const ceil = op.attrInt("ceil_mode", 0);
      const { x, g } = geometry(op, n, kernel, "-math.inf", true);
      if (x !== op.input(0)) op.useMath();
      const args = kwargs([
        ["stride", tuple(g.strides), tuple(kernel)],
        ["padding", tuple(g.padding), tuple(Array(n).fill(0))],
        ["dilation", tuple(g.dilations), tuple(Array(n).fill(1))],
        ["ceil_mode", ceil ? "True" : "False", "False"],
      ]);
      op.assign(`${op.layer(`nn.MaxPool${n}d(${tuple(kernel)}${args})`, {})}(${x})`, { rank: n + 2 });
    },
  },
  1,
);

registerAll(
  {
    AveragePool: (op) => {
      const n = spatialOf(op);
      const kernel = op.attrInts("kernel_shape");
      const includePad = op.attrInt("count_include_pad", 0);
      const ceil = op.attrInt("ceil_mode", 0);
      if (op.version >= 19 && op.hasAttr("dilations") && op.attrInts("dilations").some((d) => d !== 1)) op.refuse("dilations are not covered");
      // Padding written as F.pad is counted by the layer: with count_include_pad=0 the average is
      // then the padded input's over the padded ones' (the number of real elements in each window).
      const excluded = includePad === 0 && padLine(op, n, kernel, true);
      if (excluded && ceil) op.refuse("ceil_mode=1 with padding torch's layer cannot hold is not covered");
      const { x, g } = geometry(op, n, kernel, "0.0", true);
      const args = kwargs([
        ["stride", tuple(g.strides), tuple(kernel)],
        ["padding", tuple(g.padding), tuple(Array(n).fill(0))],
        ["ceil_mode", ceil ? "True" : "False", "False"],
        ["count_include_pad", includePad || excluded ? "True" : "False", "True"],
      ]);
      if (excluded) {
        const layer = op.layer(`nn.AvgPool${n}d(${tuple(kernel)}${args})`, {});
        const ones = geometry(op, n, kernel, "0.0", true, true, `torch.ones_like(${op.input(0)}[:1, :1])`).x;
        return op.assign(`${layer}(${x}) / ${layer}(${ones})`, { rank: n + 2, comment: true });
      }
      op.assign(`${op.layer(`nn.AvgPool${n}d(${tuple(kernel)}${args})`, {})}(${x})`, { rank: n + 2 });
    },
  },
  7,
);

const globalPool = (fn: string) => (op: TorchOp) => {
  const x = op.input(0);
  const rank = op.rank(0);
  const dims = rank !== undefined ? tuple(Array.from({ length: rank - 2 }, (_, i) => i + 2)) : `tuple(range(2, ${x}.dim()))`;
  op.assign(`${x}.${fn}(dim=${dims}, keepdim=True)`, { rank });
};
registerAll({ GlobalAveragePool: globalPool("mean"), GlobalMaxPool: globalPool("amax") }, 1);
